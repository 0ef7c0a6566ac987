"""The gymnasium face of a lifebot task.

``LifebotEnv`` owns a :class:`~lifebot.envs.task_env.SpecTaskEnv` (composition, not robosuite's GymWrapper,
which seeds the global ``np.random`` and reports the horizon as ``terminated``).

- Action Space: ``Box(-1, 1, (7,))``: end-effector delta position (3) and axis-angle rotation (3) for
  robosuite's OSC_POSE controller at 20 Hz, and the gripper command (1; +1 closes).
- Observation Space: a ``Dict``; see :mod:`lifebot.envs.observations` for the state keys. ``obs_mode="image"``
  adds ``agentview_image`` and ``eye_in_hand_image`` (uint8, H×W×3, upright: rows flipped from OpenGL's order).
- Rewards: sparse 1.0 when the goal holds (default), or ``reward="dense"`` for shaped progress in [0, 1].
- Episode End: ``terminated`` when the goal conjunction holds; ``truncated`` at the task's horizon.
- Reset: ``reset(seed=s)`` samples a fresh placement from the seed; ``options={"init_state_index": i}`` restores
  the suite's i-th fixed evaluation state, ``options={"init_state": array}`` any stored state. The suite is read
  from ``suites_dir`` when given (e.g. a folder of private evaluation states), else from ``task_suites/``.
  ``reset(seed=evaluation_seed(e), options={"evaluation": True})`` starts evaluation episode ``e``: fixed state
  ``e`` and a seed from a range training never uses (this form works per sub-environment in a vector env).
- Control: ``control_mode="pd_ee_delta_pose"`` (IK + MuJoCo servos, fast, default) or ``"osc_pose"``
  (robosuite OSC, LIBERO's); see
  :mod:`lifebot.envs.control`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from lifebot.envs.control import DEFAULT_CONTROL_MODE
from lifebot.envs.observations import StateObserver, state_bounds
from lifebot.envs.rewards import dense_reward
from lifebot.envs.task_env import CONTROL_FREQ, SpecTaskEnv
from lifebot.spec.io import load_spec
from lifebot.spec.model import TaskSpec
from lifebot.suites.store import load_suite

EVALUATION_SEED_BASE = 1_000_000_000  # evaluation episode e resets with seed EVALUATION_SEED_BASE + e


def evaluation_seed(episode: int) -> int:
    return EVALUATION_SEED_BASE + episode


CAMERAS = {"agentview_image": "agentview", "eye_in_hand_image": "robot0_eye_in_hand"}
OBS_MODES = ("state", "image")
REWARDS = ("sparse", "dense")


def observation_space(obs_mode: str = "state", image_size: int = 128) -> spaces.Dict:
    """The observation space of every lifebot environment in ``obs_mode`` (bounded: see ``state_bounds``)."""
    obs_spaces: dict[str, spaces.Space] = {
        key: spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        for key, (low, high) in state_bounds().items()
    }
    if obs_mode == "image":
        for key in CAMERAS:
            obs_spaces[key] = spaces.Box(0, 255, shape=(image_size, image_size, 3), dtype=np.uint8)
    return spaces.Dict(obs_spaces)


class LifebotEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": CONTROL_FREQ}

    def __init__(
        self,
        suite: str | None = None,
        task: str | None = None,
        spec: TaskSpec | str | None = None,
        obs_mode: str = "state",
        reward: str = "sparse",
        control_mode: str = DEFAULT_CONTROL_MODE,
        render_mode: str | None = None,
        image_size: int = 128,
        render_size: int = 256,
        suites_dir: str | None = None,
    ):
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.init_states: np.ndarray | None = None
        if spec is not None:
            self.task_spec = load_spec(spec) if isinstance(spec, str) else spec
        elif suite is not None and task is not None:
            loaded = load_suite(suite, Path(suites_dir) if suites_dir else None)
            self.task_spec = loaded.task(task).spec
            self.init_states = loaded.init_states(task)
        else:
            raise ValueError("LifebotEnv needs suite= and task=, or spec= (a TaskSpec or a spec file path)")
        self.obs_mode, self.reward_mode, self.render_mode = obs_mode, reward, render_mode
        self.image_size, self.render_size = image_size, render_size
        self.control_mode = control_mode
        self.sim_env = SpecTaskEnv(
            self.task_spec,
            control_mode=control_mode,
            has_offscreen_renderer=obs_mode == "image" or render_mode is not None,
        )
        self.observe_state = StateObserver(self.sim_env)
        self.horizon = self.task_spec.horizon
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.sim_env.action_dim,), dtype=np.float32)
        self.observation_space = observation_space(obs_mode, image_size)
        self._steps = 0

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        # robosuite samples the robot's joint noise and lifebot the object placement from this generator.
        self.sim_env.rng = np.random.default_rng(self.np_random.integers(2**63))
        self.sim_env.reset()
        state = self._requested_state(options, seed)
        if state is not None:
            self.sim_env.set_flat_state(state)
        self._steps = 0
        return self._observation(), self._info()

    def _requested_state(self, options: dict[str, Any], seed: int | None) -> np.ndarray | None:
        if "init_state" in options:
            return np.asarray(options["init_state"], dtype=np.float64)
        if options.get("evaluation"):
            if seed is None or seed < EVALUATION_SEED_BASE:
                raise ValueError("an evaluation reset needs seed=evaluation_seed(episode)")
            options = {"init_state_index": seed - EVALUATION_SEED_BASE}
        if "init_state_index" in options:
            if self.init_states is None:
                raise ValueError("init_state_index needs an environment made from a suite (suite=, task=)")
            index = int(options["init_state_index"])
            if not 0 <= index < len(self.init_states):
                raise IndexError(
                    f"init_state_index {index} out of range: task {self.task_spec.name!r} has "
                    f"{len(self.init_states)} evaluation states"
                )
            return self.init_states[index]
        return None

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self.sim_env.step(action)
        self._steps += 1
        status = self.sim_env.last_goal_status  # computed by this step's reward, not evaluated again
        success = all(status)
        if self.reward_mode == "dense":
            reward = dense_reward(self.sim_env, self.task_spec.goal, status)
        else:
            reward = float(success)
        truncated = self._steps >= self.horizon and not success
        return self._observation(), reward, success, truncated, self._info(status)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self._camera("agentview", self.render_size)

    def close(self):
        self.sim_env.close()

    # ------------------------------------------------------------------ helpers
    def _camera(self, camera: str, size: int) -> np.ndarray:
        # No reflection pass: it renders the scene a second time for the table's mirror image, which changes a
        # frame by ~0.3/255 per pixel on average, and halves software rendering (benchmarks/image_encoder_costs.py).
        self.sim_env.sim._render_context_offscreen.scn.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        frame = self.sim_env.sim.render(camera_name=camera, width=size, height=size)
        return np.ascontiguousarray(frame[::-1])

    def _observation(self) -> dict[str, np.ndarray]:
        obs = self.observe_state()
        if self.obs_mode == "image":
            for key, camera in CAMERAS.items():
                obs[key] = self._camera(camera, self.image_size)
        return obs

    def _info(self, status: list[bool] | None = None) -> dict[str, Any]:
        status = self.sim_env.goal_status() if status is None else status
        return {"success": all(status), "goal_status": status, "task_id": self.task_spec.task_id}

    def get_state(self) -> np.ndarray:
        return self.sim_env.get_flat_state()
