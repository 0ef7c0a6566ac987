"""Suite files on disk: the benchmark definition that ships in ``task_suites/``.

Layout of one suite, ``task_suites/<suite>/``::

    suite.json                  schema_version, suite, family, seed, version (hash of the task IDs), versions
                                (lifebot / MuJoCo / robosuite that generated it), orderings, and per task:
                                name, task_id, spec, init_states {file, count, sha256, state_size}
    init_states/<Task>.npy      float64 (count, 1 + nq + nv) flattened MuJoCo states [time, qpos, qvel],
                                each value a multiple of STATE_QUANTUM (see ``quantize_states``)

Everything is written deterministically (sorted keys, no timestamps, ``.npy`` rather than zip archives), so
regenerating with the same seed reproduces every byte. Init-state files are checked against their hash on load.
Physics differs across machines in the last bits (about 1e-19 absolute), so raw float64 states would hash
differently on each; states are stored on a fixed absolute grid that such noise does not cross.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from lifebot.atomic import atomic_write_bytes, atomic_write_json
from lifebot.jsonio import parse_json, read_text
from lifebot.resources import suites_root
from lifebot.spec.io import short, spec_from_dict
from lifebot.spec.model import TaskSpec

SUITE_SCHEMA_VERSION = 1
SUITE_FILE = "suite.json"
MAX_SUITE_BYTES = 16 << 20
MAX_SUITE_DEPTH = 16
STATE_QUANTUM = 2.0**-30
"""Grid of stored init states (about 1e-9 m, rad or m/s): far below anything physical, far above last-bit noise."""


class SuiteError(ValueError):
    """A suite or task that does not exist, or a suite file that is damaged."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SuiteTask:
    spec: TaskSpec
    init_states_file: str
    init_states_sha256: str
    num_init_states: int

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Suite:
    name: str
    family: str
    seed: int
    version: str
    tasks: tuple[SuiteTask, ...]
    orderings: tuple[tuple[int, ...], ...]
    versions: dict
    root: Path

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def task(self, name: str) -> SuiteTask:
        for task in self.tasks:
            if task.name == name:
                return task
        raise SuiteError(f"suite {self.name!r} has no task {name!r}; tasks: {', '.join(self.task_names)}")

    def init_states(self, task_name: str) -> np.ndarray:
        """The task's fixed evaluation initial states, verified against the hash in suite.json."""
        task = self.task(task_name)
        path = self.root / task.init_states_file
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SuiteError(f"{path}: cannot read init states: {exc.strerror or exc}") from None
        if sha256_bytes(raw) != task.init_states_sha256:
            raise SuiteError(
                f"{path}: init states do not match the hash in {self.root / SUITE_FILE} "
                "(file changed or damaged; regenerate the suite)"
            )
        states = np.load(path, allow_pickle=False)
        if states.shape[0] != task.num_init_states:
            raise SuiteError(f"{path}: holds {states.shape[0]} states, suite.json says {task.num_init_states}")
        return states


def quantize_states(states: np.ndarray) -> np.ndarray:
    """``states`` rounded to multiples of STATE_QUANTUM (exact in float64, with no negative zeros)."""
    return np.round(np.asarray(states, dtype=np.float64) / STATE_QUANTUM) * STATE_QUANTUM + 0.0


def suite_version(specs: list[TaskSpec]) -> str:
    return sha256_bytes("\n".join(s.task_id for s in specs).encode())[:16]


def list_suites(root: Path | None = None) -> list[str]:
    root = root or suites_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / SUITE_FILE).is_file())


@cache
def _load_cached(name: str, root: Path) -> Suite:
    path = root / name / SUITE_FILE
    if not path.is_file():
        known = ", ".join(list_suites(root)) or "none (run `lifebot suites generate`)"
        raise SuiteError(f"unknown suite {name!r} (no {path}); suites: {known}")
    try:
        data = parse_json(read_text(path, MAX_SUITE_BYTES, "a suite file"), MAX_SUITE_DEPTH, "a suite file")
    except ValueError as exc:
        raise SuiteError(f"{path}: not a readable suite file: {exc}") from None
    if not isinstance(data, dict) or data.get("schema_version") != SUITE_SCHEMA_VERSION:
        found = data.get("schema_version") if isinstance(data, dict) else type(data).__name__
        raise SuiteError(f"{path}: schema_version {short(found)}, expected {SUITE_SCHEMA_VERSION}")
    try:
        return _suite_from_json(data, path, root / name)
    except KeyError as exc:
        raise SuiteError(f"{path}: damaged suite file (lacks the key {short(exc.args[0])})") from None
    except (TypeError, AttributeError, IndexError) as exc:
        raise SuiteError(f"{path}: damaged suite file ({short(str(exc))})") from None


def _suite_from_json(data: dict, path: Path, folder: Path) -> Suite:
    tasks = []
    for i, raw in enumerate(data["tasks"]):
        spec = spec_from_dict(raw["spec"], source=f"{path} tasks[{i}].spec")
        if spec.task_id != raw["task_id"]:
            raise SuiteError(
                f"{path}: tasks[{i}] ({spec.name}) task_id {short(raw['task_id'])} does not match its spec "
                f"({spec.task_id})"
            )
        states = raw["init_states"]
        tasks.append(SuiteTask(spec, states["file"], states["sha256"], states["count"]))
    version = suite_version([t.spec for t in tasks])
    if version != data["version"]:
        raise SuiteError(f"{path}: suite version {short(data['version'])} does not match its tasks ({version})")
    return Suite(
        name=data["suite"],
        family=data["family"],
        seed=data["seed"],
        version=version,
        tasks=tuple(tasks),
        orderings=tuple(tuple(o) for o in data["orderings"]),
        versions=data["versions"],
        root=folder,
    )


def load_suite(name: str, root: Path | None = None) -> Suite:
    return _load_cached(name, (root or suites_root()).resolve())


def npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def write_suite(
    root: Path,
    name: str,
    family: str,
    seed: int,
    specs: list[TaskSpec],
    init_states: dict[str, np.ndarray],
    orderings: list[list[int]],
    versions: dict,
) -> Path:
    """Write a suite folder (init-state files first, suite.json last, each atomically)."""
    folder = root / name
    tasks = []
    for spec in specs:
        raw = npy_bytes(init_states[spec.name])
        relative = f"init_states/{spec.name}.npy"
        atomic_write_bytes(folder / relative, raw)
        tasks.append(
            {
                "name": spec.name,
                "task_id": spec.task_id,
                "spec": spec.to_dict(),
                "init_states": {
                    "file": relative,
                    "count": int(init_states[spec.name].shape[0]),
                    "state_size": int(init_states[spec.name].shape[1]),
                    "sha256": sha256_bytes(raw),
                },
            }
        )
    document = {
        "schema_version": SUITE_SCHEMA_VERSION,
        "suite": name,
        "family": family,
        "seed": seed,
        "version": suite_version(specs),
        "versions": versions,
        "orderings": orderings,
        "tasks": tasks,
    }
    atomic_write_json(folder / SUITE_FILE, document)
    written = {f"{spec.name}.npy" for spec in specs}
    for stale in (folder / "init_states").glob("*.npy"):
        if stale.name not in written:
            stale.unlink()
    _load_cached.cache_clear()
    return folder
