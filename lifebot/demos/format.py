"""The demonstration file format (robomimic / LIBERO layout), written and read only through this module.

One HDF5 file per task, ``demos/<suite>/<Task>.hdf5``::

    data                        attrs: total (transitions), env_args (JSON: env_name, type=1, env_kwargs,
                                       versions), task_spec (JSON), instruction, control_mode,
                                       image_convention ("upright": rows top to bottom),
                                       task_encoding_version, action_noise (std of the collection
                                       noise on the arm actions), lifebot_version,
                                       schema_version
    data/demo_<i>               attrs: num_samples, model_file (MJCF XML), init_state, seed,
                                       success_step (first step after which the goal holds)
    data/demo_<i>/actions       (T, 7) float32 in [-1, 1]: the actions executed (replaying them is exact)
    data/demo_<i>/expert_actions (T, 7) float32: the scripted expert's clean action in each state, the training
                                label; differs from ``actions`` where collection injected noise (data.attrs
                                ``action_noise``); older files lack it (their labels are ``actions``)
    data/demo_<i>/states        (T, D) float64 flattened MuJoCo state [time, qpos, qvel] before each action
    data/demo_<i>/obs/<key>     (T, ...) observation before each action: proprio, objects, task (float32);
                                agentview_image, eye_in_hand_image (uint8, T×H×W×3) when recorded
    data/demo_<i>/next_obs/<key>
    data/demo_<i>/rewards       (T,) float32, sparse: 1 after each step at which the goal holds
    data/demo_<i>/dones         (T,) uint8, 1 at the final step; recording goes on past ``success_step``
                                through the release and retreat (older files stop at it)
    mask/train, mask/valid      byte strings of demo names (a deterministic 90/10 split)

Demo groups are named exactly ``demo_<int>``: robomimic sorts them on the integer. Replaying ``actions`` from
``states[0]`` in an environment made from ``env_args`` reproduces ``states`` and the success
(``lifebot demos verify``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from lifebot.atomic import atomic_output
from lifebot.envs.task_encoding import ENCODING_VERSION
from lifebot.spec.io import SpecError, spec_from_dict
from lifebot.spec.model import TaskSpec

SCHEMA_VERSION = 1
ROBOSUITE_ENV_TYPE = 1  # robomimic's EnvType.ROBOSUITE_TYPE
VALID_FRACTION = 0.1
ACTION_DIM = 7  # end-effector delta pose + gripper, in every control mode


class DemoFileError(ValueError):
    """A demonstration file that is missing, truncated, corrupt, or not a lifebot file; names the file."""

    def __init__(self, path: str | Path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


@dataclass
class Episode:
    """One recorded demonstration, in memory."""

    seed: int
    actions: np.ndarray
    states: np.ndarray
    obs: dict[str, np.ndarray]
    next_obs: dict[str, np.ndarray]
    rewards: np.ndarray
    dones: np.ndarray
    model_file: str
    expert_actions: np.ndarray | None = None
    """The expert's clean actions (the labels) where they were recorded; None in older files."""
    success_step: int | None = None

    @property
    def num_samples(self) -> int:
        return len(self.actions)


@dataclass
class DemoHeader:
    """The file-level metadata of a demonstration file."""

    env_args: dict
    task_spec: TaskSpec
    control_mode: str
    versions: dict = field(default_factory=dict)
    action_noise: float = 0.0

    @property
    def env_kwargs(self) -> dict:
        return self.env_args["env_kwargs"]


def demo_name(index: int) -> str:
    return f"demo_{index}"


def demo_index(name: str) -> int:
    return int(name[len("demo_") :])


def write_episode(group: h5py.Group, episode: Episode) -> None:
    group.attrs["num_samples"] = episode.num_samples
    group.attrs["model_file"] = episode.model_file
    group.attrs["init_state"] = episode.states[0]
    group.attrs["seed"] = episode.seed
    group.create_dataset("actions", data=episode.actions.astype(np.float32))
    if episode.expert_actions is not None:
        group.create_dataset("expert_actions", data=episode.expert_actions.astype(np.float32))
    if episode.success_step is not None:
        group.attrs["success_step"] = episode.success_step
    group.create_dataset("states", data=episode.states.astype(np.float64))
    group.create_dataset("rewards", data=episode.rewards.astype(np.float32))
    group.create_dataset("dones", data=episode.dones.astype(np.uint8))
    for key in ("obs", "next_obs"):
        for name, values in getattr(episode, key).items():
            image = values.dtype == np.uint8
            group.create_dataset(f"{key}/{name}", data=values, compression="gzip" if image else None)


def read_episode(group: h5py.Group) -> Episode:
    return Episode(
        seed=int(group.attrs["seed"]),
        actions=group["actions"][()],
        states=group["states"][()],
        obs={k: v[()] for k, v in group["obs"].items()},
        next_obs={k: v[()] for k, v in group["next_obs"].items()},
        rewards=group["rewards"][()],
        dones=group["dones"][()],
        model_file=str(group.attrs["model_file"]),
        expert_actions=group["expert_actions"][()] if "expert_actions" in group else None,
        success_step=int(group.attrs["success_step"]) if "success_step" in group.attrs else None,
    )


def write_demo_file(path: Path, header: DemoHeader, episodes: dict[int, Episode]) -> None:
    """Write the whole file to a temporary name, then rename it into place: never a half-written file."""
    with atomic_output(path) as tmp, h5py.File(tmp, "w") as f:
        data = f.create_group("data")
        data.attrs["total"] = int(sum(e.num_samples for e in episodes.values()))
        data.attrs["env_args"] = json.dumps(header.env_args, sort_keys=True)
        data.attrs["task_spec"] = header.task_spec.canonical_json()
        data.attrs["instruction"] = header.task_spec.instruction
        data.attrs["control_mode"] = header.control_mode
        data.attrs["image_convention"] = "upright"
        data.attrs["task_encoding_version"] = ENCODING_VERSION
        data.attrs["action_noise"] = header.action_noise
        data.attrs["lifebot_version"] = header.versions.get("lifebot", "unknown")
        data.attrs["schema_version"] = SCHEMA_VERSION
        for index in sorted(episodes):
            write_episode(data.create_group(demo_name(index)), episodes[index])
        names = [demo_name(i) for i in sorted(episodes)]
        valid = names[:: max(1, round(1 / VALID_FRACTION))] if len(names) > 1 else []
        train = [n for n in names if n not in valid]
        f.create_dataset("mask/train", data=np.array(train, dtype="S"))
        f.create_dataset("mask/valid", data=np.array(valid, dtype="S"))


REQUIRED_DEMO_KEYS = ("actions", "states", "obs", "next_obs", "rewards", "dones")


def _first_bad_row(values: np.ndarray) -> int | None:
    if values.size == 0:
        return None
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def check_demo_values(group: h5py.Group, rows: int, state_size: int) -> None:
    """Refuse mis-shaped or non-finite arrays in one demo group (ValueError naming the key and the row).

    Read before anything trains or replays on them, so that NaN or a wrong width never reaches a policy.
    """
    from lifebot.envs.observations import STATE_SHAPES  # imports MuJoCo: not at the top (``lifebot --help``)

    expected = {"actions": (ACTION_DIM,), "states": (state_size,), "rewards": (), "dones": ()}
    if "expert_actions" in group:
        expected["expert_actions"] = (ACTION_DIM,)
    arrays = [(key, group[key], shape) for key, shape in expected.items()]
    for part in ("obs", "next_obs"):
        arrays += [(f"{part}/{k}", v, STATE_SHAPES.get(k)) for k, v in group[part].items()]
    for key, dataset, shape in arrays:
        if not isinstance(dataset, h5py.Dataset):
            raise ValueError(f"{key} is a group, expected an array")
        if dataset.shape[:1] != (rows,) or (shape is not None and dataset.shape[1:] != shape):
            wanted = (rows, *shape) if shape is not None else f"({rows}, ...)"
            raise ValueError(f"{key} has shape {dataset.shape}, expected {wanted}")
        if dataset.dtype.kind == "f":
            row = _first_bad_row(dataset[()])
            if row is not None:
                raise ValueError(f"{key} holds a non-finite value (NaN or inf) at row {row}")
        elif dataset.dtype.kind not in "iub":
            raise ValueError(f"{key} has dtype {dataset.dtype}, expected numbers")


class DemoFile:
    """A validated, read-only demonstration file. Every structural problem is a DemoFileError naming the file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise DemoFileError(self.path, "no such file")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise DemoFileError(self.path, f"not a readable HDF5 file (truncated or corrupt?): {exc}") from None
        try:
            self._check()
        except DemoFileError:
            self._file.close()
            raise
        except (KeyError, OSError, ValueError, TypeError) as exc:
            self._file.close()
            raise DemoFileError(self.path, f"damaged demonstration file: {exc}") from None

    def _check(self) -> None:
        f = self._file
        if "data" not in f:
            raise DemoFileError(self.path, "no 'data' group: not a robomimic/lifebot demonstration file")
        attrs = f["data"].attrs
        for key in ("total", "env_args", "task_spec", "schema_version"):
            if key not in attrs:
                raise DemoFileError(self.path, f"'data' has no '{key}' attribute: not a lifebot demonstration file")
        if int(attrs["schema_version"]) != SCHEMA_VERSION:
            raise DemoFileError(
                self.path, f"schema_version {attrs['schema_version']}, this lifebot reads {SCHEMA_VERSION}"
            )
        try:
            self.env_args = json.loads(attrs["env_args"])
            if not isinstance(self.env_args, dict) or not isinstance(self.env_args.get("env_kwargs"), dict):
                raise DemoFileError(
                    self.path, "data.attrs['env_args'] is not a JSON object with an 'env_kwargs' object"
                )
            self.task_spec = spec_from_dict(
                json.loads(attrs["task_spec"]), source=f"{self.path} data.attrs['task_spec']"
            )
        except (json.JSONDecodeError, SpecError) as exc:
            raise DemoFileError(self.path, f"unreadable metadata: {exc}") from None
        names = list(f["data"].keys())
        bad = [n for n in names if not (n.startswith("demo_") and n[5:].isdigit())]
        if bad:
            raise DemoFileError(self.path, f"group data/{bad[0]} is not named demo_<int>")
        total, state_size = 0, None
        for name in names:
            group = f["data"][name]
            missing = [k for k in REQUIRED_DEMO_KEYS if k not in group]
            if missing or "num_samples" not in group.attrs:
                raise DemoFileError(self.path, f"data/{name} lacks {missing or ['num_samples attribute']}")
            n = int(group.attrs["num_samples"])
            if state_size is None:
                state_size = group["states"].shape[-1] if group["states"].ndim == 2 else -1
            try:
                check_demo_values(group, n, state_size)
            except ValueError as exc:
                raise DemoFileError(self.path, f"data/{name}/{exc}") from None
            total += n
        if total != int(attrs["total"]):
            raise DemoFileError(self.path, f"data.attrs['total'] is {attrs['total']} but the demos hold {total}")
        self.demo_names = sorted(names, key=demo_index)

    @property
    def header(self) -> DemoHeader:
        data = self._file["data"].attrs
        return DemoHeader(
            self.env_args,
            self.task_spec,
            str(data.get("control_mode", "osc_pose")),
            self.env_args.get("versions", {}),
            float(data.get("action_noise", 0.0)),
        )

    @property
    def attrs(self) -> dict:
        return dict(self._file["data"].attrs)

    def episode(self, name: str) -> Episode:
        try:
            return read_episode(self._file["data"][name])
        except (KeyError, OSError) as exc:
            raise DemoFileError(self.path, f"cannot read data/{name}: {exc}") from None

    def mask(self, name: str) -> list[str]:
        return [n.decode() for n in self._file[f"mask/{name}"][()]] if f"mask/{name}" in self._file else []

    def obs_keys(self) -> list[str]:
        return sorted(self._file["data"][self.demo_names[0]]["obs"].keys()) if self.demo_names else []

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> DemoFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
