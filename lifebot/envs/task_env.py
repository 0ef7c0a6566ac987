"""A robosuite manipulation environment built from a :class:`~lifebot.spec.TaskSpec`.

Model composition happens once, in ``_load_model`` (arena + Panda + catalog objects, fixtures welded at their
region). ``reset`` never rebuilds the model (``hard_reset=False``): it restores the initial simulator state and
re-places the free objects with the environment's own seeded generator, or writes a stored evaluation state.

Observations are computed directly from simulator data instead of through robosuite's observable machinery,
which would update sensors at every one of the 25 physics substeps of a control step.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import mujoco
import numpy as np
from robosuite.controllers import load_composite_controller_config
from robosuite.environments.manipulation.manipulation_env import ManipulationEnv
from robosuite.models.arenas import TableArena
from robosuite.models.tasks import ManipulationTask

from lifebot.envs.control import DEFAULT_CONTROL_MODE, JointServoController, validate_control_mode
from lifebot.envs.geometry import ObjectGeometry, measure_geometry, world_aabb
from lifebot.objects.articulated import LID_HINGE_JOINT
from lifebot.objects.catalog import get_category
from lifebot.predicates import POSITIONS
from lifebot.spec.model import TaskSpec

CONTROL_FREQ = 20
ROBOT = "Panda"
INIT_JOINT_NOISE = 0.02  # rad, gaussian, per joint; drawn from the env's seeded generator
DROP_GAP = 0.002  # objects are placed this far above their support and settle on the first step
OPEN_INIT_ANGLE = 1.4


class PlacementError(RuntimeError):
    """No collision-free placement was found for a task's objects (the task is infeasible as specified)."""


@dataclass(frozen=True)
class _Handles:
    """Indices into MuJoCo arrays for one scene object, resolved once after the model compiles."""

    body_id: int
    geom_ids: np.ndarray
    qpos_slice: slice | None  # free joint (7) for free objects, None for fixtures
    hinge_qpos: int | None  # articulation joint, if any


class SpecTaskEnv(ManipulationEnv):
    """robosuite environment for one lifebot task; :class:`lifebot.envs.gym_env.LifebotEnv` is its gymnasium face."""

    def __init__(
        self,
        spec: TaskSpec,
        seed: int | None = None,
        control_mode: str = DEFAULT_CONTROL_MODE,
        has_offscreen_renderer: bool = False,
        render_gpu_device_id: int = -1,
    ):
        self.spec = spec
        self.control_mode = validate_control_mode(control_mode)
        self.servo: JointServoController | None = None
        self.table_full_size = spec.scene.table_full_size
        self.table_offset = np.array([0.0, 0.0, spec.scene.table_height])
        self.table_top_z = float(spec.scene.table_height)
        self.scene_models: dict[str, object] = {}
        super().__init__(
            robots=ROBOT,
            controller_configs=load_composite_controller_config(robot=ROBOT),
            initialization_noise={"magnitude": INIT_JOINT_NOISE, "type": "gaussian"},
            use_camera_obs=False,
            has_renderer=False,
            has_offscreen_renderer=has_offscreen_renderer,
            render_camera=None,
            render_gpu_device_id=render_gpu_device_id,
            control_freq=CONTROL_FREQ,
            horizon=spec.horizon,
            ignore_done=True,
            hard_reset=False,
            renderer="mujoco",
            seed=seed,
        )
        if self.control_mode == "pd_ee_delta_pose":
            self.servo = JointServoController(self)
            self.servo.reset()

    # ------------------------------------------------------------------ model (built once)
    def _load_model(self):
        super()._load_model()
        robot_model = self.robots[0].robot_model
        robot_model.set_base_xpos(robot_model.base_xpos_offset["table"](self.table_full_size[0]))
        arena = TableArena(table_full_size=self.table_full_size, table_offset=self.table_offset)
        arena.set_origin([0, 0, 0])

        fixture_names = {o.name for o in self.spec.fixtures}
        self.scene_models = {
            o.name: get_category(o.category).build(o.name, o.name in fixture_names) for o in self.spec.all_objects
        }
        self.model = ManipulationTask(
            mujoco_arena=arena,
            mujoco_robots=[robot_model],
            mujoco_objects=list(self.scene_models.values()),
        )
        for fixture in self.spec.fixtures:
            model = self.scene_models[fixture.name]
            region = self._placement_region(fixture.name)
            bottom = -float(model.bottom_offset[2])
            pos = (region.center[0], region.center[1], self.table_top_z + bottom)
            body = self.model.worldbody.find(f"./body[@name='{model.root_body}']")
            body.set("pos", " ".join(f"{v:.6f}" for v in pos))

    def _placement_region(self, name: str):
        for atom in self.spec.init:
            if atom.definition.placement == "region" and atom.args[0] == name:
                return self.spec.region(atom.args[1])
        raise KeyError(name)

    def _setup_references(self):
        super()._setup_references()
        if getattr(self, "_referenced_sim", None) is self.sim:
            return  # the model never changes after construction; resolve names and measure once
        self._referenced_sim = self.sim
        model = self.sim.model._model
        self.handles: dict[str, _Handles] = {}
        for name, obj in self.scene_models.items():
            body_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, obj.root_body)
            geom_ids = np.array(
                [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, g) for g in obj.contact_geoms], dtype=int
            )
            qpos_slice, hinge_qpos = None, None
            for joint in obj.joints:
                joint_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint)
                address = int(model.jnt_qposadr[joint_id])
                if model.jnt_type[joint_id] == mujoco.mjtJoint.mjJNT_FREE:
                    qpos_slice = slice(address, address + 7)
                elif joint.endswith(LID_HINGE_JOINT):
                    hinge_qpos = address
            self.handles[name] = _Handles(body_id, geom_ids, qpos_slice, hinge_qpos)
        pads = self.robots[0].gripper["right"].important_geoms
        self.left_pad_ids, self.right_pad_ids = (
            np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, g) for g in pads[side]])
            for side in ("left_fingerpad", "right_fingerpad")
        )
        self.eef_site_id = self.robots[0].eef_site_id["right"]
        containers = {o.name for o in self.spec.all_objects if get_category(o.category).kind == "container"}
        self.sim.forward()
        self.geometry: dict[str, ObjectGeometry] = measure_geometry(self.sim, self.handles, containers)

    def _setup_observables(self):
        # lifebot computes observations itself (see lifebot.envs.observations); robosuite's would be refreshed
        # at every physics substep.
        return OrderedDict()

    # ------------------------------------------------------------------ reset (a state write, never a rebuild)
    def _reset_internal(self):
        super()._reset_internal()
        if not self.deterministic_reset:
            self.place_objects()
        if self.servo is not None:
            self.servo.reset()

    def step(self, action):
        """One 20 Hz control step; in ``pd_ee_delta_pose`` mode all substeps run inside one MuJoCo call."""
        if self.servo is None:
            return super().step(action)
        if self.done:
            raise ValueError("executing action in terminated episode")
        self.timestep += 1
        self.servo.step(np.asarray(action, dtype=np.float64))
        self.cur_time += self.control_timestep
        reward, self.done, info = self._post_action(action)
        return None, reward, self.done, info

    def place_objects(self) -> None:
        """Sample a collision-free placement satisfying the spec's init atoms, using the env's seeded rng."""
        placed: dict[str, tuple[np.ndarray, float]] = {}  # name -> (xy centre, footprint radius)
        for fixture in self.spec.fixtures:
            pos = self.sim.data.xpos[self.handles[fixture.name].body_id]
            placed[fixture.name] = (pos[:2].copy(), self.geometry[fixture.name].footprint_radius)

        placements = {a.args[0]: a for a in self.spec.init if a.definition.placement in POSITIONS}
        in_regions = {name for name, a in placements.items() if a.definition.placement == "region"}
        ordered = [o.name for o in self.spec.objects if o.name in in_regions]
        ordered += [o.name for o in self.spec.objects if o.name not in in_regions]
        qpos = self.sim.data.qpos
        for name in ordered:
            atom = placements[name]
            geometry = self.geometry[name]
            yaw = self.rng.uniform(-0.5, 0.5)
            quat = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])  # MuJoCo wxyz
            if name in in_regions:
                xy = self._sample_free_xy(name, self.spec.region(atom.args[1]), placed)
                z = self.table_top_z + geometry.bottom + DROP_GAP
            else:
                support = atom.args[1]
                s_geometry = self.geometry[support]
                support_pos = self._body_pos(support)
                xy = support_pos[:2] + self.rng.uniform(-0.01, 0.01, size=2)
                surface = s_geometry.floor if atom.definition.placement == "floor" else s_geometry.top
                z = support_pos[2] + surface + geometry.bottom + DROP_GAP
            placed[name] = (xy, geometry.footprint_radius)
            qpos[self.handles[name].qpos_slice] = np.concatenate([[xy[0], xy[1], z], quat])
        for atom in self.spec.init:
            if atom.definition.placement in ("open", "shut"):
                angle = OPEN_INIT_ANGLE if atom.definition.placement == "open" else 0.0
                qpos[self.handles[atom.args[0]].hinge_qpos] = angle
        self.sim.forward()

    def _sample_free_xy(self, name: str, region, placed: dict, attempts: int = 200) -> np.ndarray:
        radius = self.geometry[name].footprint_radius
        low = np.array(region.low) + self.table_offset[:2]
        high = np.array(region.high) + self.table_offset[:2]
        for _ in range(attempts):
            xy = self.rng.uniform(low, high)
            if all(np.linalg.norm(xy - other) > radius + other_r + 0.005 for other, other_r in placed.values()):
                return xy
        raise PlacementError(
            f"task {self.spec.name!r}: no collision-free spot for {name!r} in region {region.name!r} "
            f"after {attempts} tries"
        )

    def _body_pos(self, name: str) -> np.ndarray:
        h = self.handles[name]
        if h.qpos_slice is not None:
            return self.sim.data.qpos[h.qpos_slice][:3].copy()
        return self.sim.data.xpos[h.body_id].copy()

    # ------------------------------------------------------------------ state
    def get_flat_state(self) -> np.ndarray:
        """The flattened MuJoCo state [time, qpos, qvel], as stored in suites and demos."""
        return np.asarray(self.sim.get_state().flatten(), dtype=np.float64)

    def set_flat_state(self, state: np.ndarray) -> None:
        expected = 1 + self.sim.model.nq + self.sim.model.nv
        if state.shape != (expected,):
            raise ValueError(f"task {self.spec.name!r}: state has shape {state.shape}, this model needs ({expected},)")
        self.sim.set_state_from_flattened(state)
        self.sim.forward()
        if self.servo is not None:
            self.servo.reset()

    def scene_contacts(self) -> list[tuple[str, str]]:
        """Pairs of scene objects whose collision geometry touches (used to check start states)."""
        owner = {int(g): name for name, h in self.handles.items() for g in h.geom_ids}
        pairs = set()
        data = self.sim.data._data
        for contact in data.contact[: data.ncon]:
            a, b = owner.get(int(contact.geom1)), owner.get(int(contact.geom2))
            if a and b and a != b and contact.dist < -1e-3:
                pairs.add(tuple(sorted((a, b))))
        return sorted(pairs)

    # ------------------------------------------------------------------ SceneView for predicates
    def aabb(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return world_aabb(self.sim, self.handles[name].geom_ids)

    def region_bounds(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        region = self.spec.region(name)
        return np.array(region.low) + self.table_offset[:2], np.array(region.high) + self.table_offset[:2]

    def joint_angle(self, name: str) -> float:
        index = self.handles[name].hinge_qpos
        if index is None:
            raise ValueError(f"{name!r} has no articulation joint")
        return float(self.sim.data.qpos[index])

    def _touching_ids(self, geoms_a: np.ndarray, geoms_b: np.ndarray) -> bool:
        data = self.sim.data._data
        pairs = data.contact.geom[: data.ncon]
        in_a, in_b = np.isin(pairs, geoms_a), np.isin(pairs, geoms_b)
        return bool(np.any((in_a[:, 0] & in_b[:, 1]) | (in_b[:, 0] & in_a[:, 1])))

    def touching(self, a: str, b: str) -> bool:
        return self._touching_ids(self.handles[a].geom_ids, self.handles[b].geom_ids)

    def in_gripper(self, name: str) -> bool:
        """Either finger pad touches the object (a looser test than :meth:`grasped`)."""
        geoms = self.handles[name].geom_ids
        return self._touching_ids(geoms, self.left_pad_ids) or self._touching_ids(geoms, self.right_pad_ids)

    def grasped(self, name: str) -> bool:
        geoms = self.handles[name].geom_ids
        return self._touching_ids(geoms, self.left_pad_ids) and self._touching_ids(geoms, self.right_pad_ids)

    def goal_status(self) -> list[bool]:
        return [atom.holds(self) for atom in self.spec.goal]

    def _check_success(self) -> bool:
        return all(atom.holds(self) for atom in self.spec.goal)

    def reward(self, action=None) -> float:
        """Sparse success; robosuite calls it once per step, so the goal status is kept for that step."""
        self.last_goal_status = self.goal_status()
        return float(all(self.last_goal_status))

    @property
    def eef_pos(self) -> np.ndarray:
        return self.sim.data.site_xpos[self.eef_site_id].copy()
