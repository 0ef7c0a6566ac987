"""What an image encoder costs here: environment steps with cameras rendered, and one inverse-dynamics step.

    MUJOCO_GL=egl python benchmarks/image_encoder_costs.py [--sizes 32 64 84 128] [--steps 60] [--batch 256]
        [--updates 5] [--device auto]

Per image side, side by side in one run: milliseconds per environment step with both cameras rendered
(``obs_mode="image"``) against state observations, what MuJoCo's reflection pass (which lifebot's cameras
skip) would cost on top, and milliseconds per inverse-dynamics pretraining step of
``policies/idm.yaml``'s shape with ``encoder_input: images`` (two frames through one convolutional encoder
per camera, backward and Adam), for one camera and for both. The pretraining step runs on random pixels of
the demonstrations' shape (its cost depends on the shape only). Also the memory of a 40-task × 10-demo pool
of ~60-step demos per camera set. This is what picks the image side and the cameras of the image path.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import mujoco
import numpy as np
import torch

from lifebot.agents.bc import ACTION_DIM, state_columns
from lifebot.agents.device import resolve_device
from lifebot.agents.idm import IDMAgent
from lifebot.agents.registry import load_agent_config
from lifebot.demos.dataset import Normalizer
from lifebot.envs.gym_env import CAMERAS, LifebotEnv
from lifebot.envs.observations import STATE_KEYS
from lifebot.threads import set_threads

TASK = ("goal", "PickRedCubeLift")
POOL_TRANSITIONS = 40 * 10 * 60


def step_ms(steps: int, **env_kwargs) -> float:
    """Median wall ms of one environment step (random actions; resets not timed)."""
    env = LifebotEnv(suite=TASK[0], task=TASK[1], control_mode="pd_ee_delta_pose", **env_kwargs)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(steps):
        action = rng.uniform(-1, 1, size=env.action_space.shape).astype(np.float32)
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        times.append(time.perf_counter() - start)
        if terminated or truncated:
            env.reset(seed=1)
    env.close()
    return 1000 * float(np.median(times))


def reflection_ratio(size: int, renders: int) -> float:
    """Median wall time of one agentview frame with MuJoCo's reflection pass over the same frame without it
    (lifebot's cameras render without it: it changes a frame by ~0.3/255 per pixel)."""
    env = LifebotEnv(suite=TASK[0], task=TASK[1], control_mode="pd_ee_delta_pose", obs_mode="image", image_size=size)
    env.reset(seed=0)
    sim = env.sim_env.sim
    times = {}
    for reflection in (1, 0, 1, 0):  # interleaved, so that a change of load hits both alike
        sim._render_context_offscreen.scn.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = reflection
        start = time.perf_counter()
        for _ in range(renders):
            sim.render(camera_name="agentview", width=size, height=size)
        times.setdefault(reflection, []).append(time.perf_counter() - start)
    env.close()
    return float(np.median(times[1]) / np.median(times[0]))


def update_ms(size: int, cameras: tuple[str, ...], batch: int, updates: int, device: str) -> float:
    """Median wall ms of one inverse-dynamics step of an image encoder on ``cameras`` at ``size`` pixels."""
    config = dataclasses.replace(
        load_agent_config("idm", None),
        observation="image",
        encoder_input="images",
        image_keys=cameras,
        batch_size=batch,
        device=device,
    )
    obs_dim = len(state_columns(STATE_KEYS))
    agent = IDMAgent(config, obs_dim, Normalizer(np.zeros(obs_dim, np.float32), np.ones(obs_dim, np.float32)))
    rows = batch * 2  # a pool big enough to draw a batch of (t, t + 1) pairs from one long demonstration
    pool = _RandomPool(rows, obs_dim, size, cameras)
    agent.pretrain(pool, steps=1)  # warm-up: allocation, cuDNN autotuning
    times = []
    for _ in range(updates):
        start = time.perf_counter()
        agent.pretrain(pool, steps=1)
        if agent.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


@dataclasses.dataclass
class _RandomPool:
    """The fields ``IDMAgent.pretrain`` reads, on random data of the demonstrations' shapes."""

    rows: int
    obs_dim: int
    size: int
    cameras: tuple[str, ...]

    def __post_init__(self):
        generator = torch.Generator().manual_seed(0)
        self.obs = torch.randn(self.rows, self.obs_dim, generator=generator)
        self.next_obs = torch.randn(self.rows, self.obs_dim, generator=generator)
        self.actions = torch.rand(self.rows, ACTION_DIM, generator=generator) * 2 - 1
        self.episode_end = torch.full((self.rows,), self.rows - 1)
        pixels = (self.rows, self.size, self.size, 3)
        self.images = {k: torch.randint(0, 256, pixels, dtype=torch.uint8, generator=generator) for k in self.cameras}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 84, 128])
    parser.add_argument("--steps", type=int, default=60, help="environment steps timed per setting")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--updates", type=int, default=5, help="pretraining steps timed per setting")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    threads = set_threads()
    device = str(resolve_device(args.device))
    state = step_ms(args.steps)
    print(f"{TASK[0]}/{TASK[1]}, {threads} torch thread(s), pretraining on {device}, batch {args.batch}")
    print(f"environment step, state observations: {state:.1f} ms")
    header = f"{'side':>5}{'env step ms (2 cams)':>22}{'× state':>9}{'reflection pass ×':>19}"
    print(header + f"{'IDM step ms, 1 cam':>20}{'2 cams':>9}{'pool GiB, 1 cam':>17}{'2 cams':>8}")
    for size in args.sizes:
        rendered = step_ms(args.steps, obs_mode="image", image_size=size)
        reflection = reflection_ratio(size, args.steps // 2)
        one = update_ms(size, tuple(CAMERAS)[:1], args.batch, args.updates, device)
        both = update_ms(size, tuple(CAMERAS), args.batch, args.updates, device)
        gib = POOL_TRANSITIONS * size * size * 3 / 2**30
        print(
            f"{size:>5}{rendered:>22.1f}{rendered / state:>9.1f}{reflection:>19.2f}"
            f"{one:>20.0f}{both:>9.0f}{gib:>17.2f}{2 * gib:>8.2f}"
        )


if __name__ == "__main__":
    main()
