"""Parallel, resumable demonstration collection.

The unit of work is one demonstration slot of one task. Each finished slot is written at once, atomically, as
``demos/<suite>/.parts/<Task>/demo_<i>.hdf5``; when every slot of a task is there the parts are merged into
``demos/<suite>/<Task>.hdf5`` (written under a temporary name, then renamed) and removed. A killed run loses
at most the episodes in flight: running the same command again keeps what was written and collects the rest.

A merge starts only when the disk has room for it: HDF5 running out of space mid-write can crash the process
(h5py has printed pages of errors and segfaulted), so a disk too full for the merged file says so, naming it,
before a byte is written, and keeps the parts for the next try.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import h5py
from tqdm import tqdm

from lifebot.atomic import DiskFull, atomic_output
from lifebot.configs import require
from lifebot.demos.format import (
    ROBOSUITE_ENV_TYPE,
    DemoFile,
    DemoFileError,
    DemoHeader,
    Episode,
    read_episode,
    write_demo_file,
    write_episode,
)
from lifebot.envs.control import CONTROL_MODES, DEFAULT_CONTROL_MODE
from lifebot.envs.registration import env_id
from lifebot.suites.store import load_suite
from lifebot.versions import versions
from lifebot.workers import worker_context

SEEDS_PER_SLOT = 1000  # slot i tries seeds i*1000, i*1000+1, ... (all below the evaluation seeds)
MERGE_ROOM = 1.1  # the merged file holds what its sources hold, plus its header and masks
MERGE_SLACK = 1 << 20


@dataclass(frozen=True)
class CollectConfig:
    """What to collect; the same config always produces the same demonstrations."""

    suite: str
    """Suite whose tasks get demonstrations."""
    tasks: tuple[str, ...] = ()
    """Task names (default: every task of the suite)."""
    num_demos: int = 50
    """Successful demonstrations per task."""
    images: bool = False
    """Also record agentview and eye-in-hand images."""
    image_size: int = 128
    """Side of the square camera images, in pixels."""
    workers: int = os.cpu_count() or 1
    """Worker processes (one environment each)."""
    control_mode: str = DEFAULT_CONTROL_MODE
    """How actions move the arm (``lifebot.envs.control``); a run must use the mode its demos were recorded in."""
    noise: float = 0.0
    """Standard deviation of Gaussian noise on the expert's arm actions."""
    max_attempts: int = 20
    """Seeds tried per slot before the task is declared unsolved (an expert or generator bug)."""
    out: Path = Path("demos")
    """Demonstrations folder: files are written to ``<out>/<suite>/<Task>.hdf5``."""

    def __post_init__(self):
        require(
            self,
            {
                "num_demos": (self.num_demos >= 1, "at least 1"),
                "image_size": (self.image_size >= 16, "at least 16"),
                "workers": (self.workers >= 1, "at least 1"),
                "control_mode": (self.control_mode in CONTROL_MODES, f"one of {', '.join(CONTROL_MODES)}"),
                "noise": (self.noise >= 0, "at least 0"),
                "max_attempts": (self.max_attempts >= 1, "at least 1"),
            },
        )


def task_file(config: CollectConfig, task: str) -> Path:
    return config.out / config.suite / f"{task}.hdf5"


def _parts_dir(config: CollectConfig, task: str) -> Path:
    return config.out / config.suite / ".parts" / task


def _env_kwargs(config: CollectConfig, task: str) -> dict:
    kwargs = {
        "suite": config.suite,
        "task": task,
        "control_mode": config.control_mode,
        "obs_mode": "image" if config.images else "state",
    }
    if config.images:
        kwargs["image_size"] = config.image_size
    return kwargs


def header_for(config: CollectConfig, task: str) -> DemoHeader:
    spec = load_suite(config.suite).task(task).spec
    env_args = {
        "env_name": env_id(config.suite, task),
        "type": ROBOSUITE_ENV_TYPE,
        "env_kwargs": _env_kwargs(config, task),
        "versions": versions(),
    }
    return DemoHeader(env_args, spec, config.control_mode, versions(), config.noise)


_WORKER_ENVS: dict = {}


def _collect_slot(job: tuple[CollectConfig, str, int]) -> tuple[str, int, int]:
    """Worker: record slot ``slot`` of ``task``; returns (task, slot, seeds tried), or -1 tries if unsolved."""
    from lifebot.demos.record import record_episode
    from lifebot.envs.gym_env import LifebotEnv

    config, task, slot = job
    key = (config, task)
    if key not in _WORKER_ENVS:
        _WORKER_ENVS.clear()  # one task's environment per worker at a time
        _WORKER_ENVS[key] = LifebotEnv(**_env_kwargs(config, task))
    env = _WORKER_ENVS[key]
    for attempt in range(config.max_attempts):
        episode = record_episode(env, seed=slot * SEEDS_PER_SLOT + attempt, noise=config.noise)
        if episode is not None:
            _write_part(_parts_dir(config, task) / f"demo_{slot}.hdf5", episode)
            return task, slot, attempt + 1
    return task, slot, -1


def _write_part(path: Path, episode: Episode) -> None:
    with atomic_output(path) as tmp, h5py.File(tmp, "w") as f:
        write_episode(f.create_group("demo"), episode)


def _existing(config: CollectConfig, task: str) -> dict[int, Episode]:
    """Demonstrations already collected for a task: in its merged file and in finished parts."""
    episodes: dict[int, Episode] = {}
    path = task_file(config, task)
    if path.exists():
        with DemoFile(path) as demo_file:
            header = demo_file.header
            if (header.control_mode, header.action_noise) != (config.control_mode, config.noise):
                raise DemoFileError(
                    path,
                    f"holds control_mode={header.control_mode!r}, noise={header.action_noise} demos, "
                    f"this run collects control_mode={config.control_mode!r}, noise={config.noise}; pass "
                    f"--control-mode {header.control_mode} --noise {header.action_noise} to add to them, "
                    "or another --out",
                )
            cameras = {k: header.env_kwargs.get(k) for k in ("obs_mode", "image_size")}
            wanted = {k: _env_kwargs(config, task).get(k) for k in cameras}
            if cameras != wanted:
                raise DemoFileError(
                    path, f"holds demos recorded with {cameras}, this run records {wanted}; collect into another --out"
                )
            for name in demo_file.demo_names:
                episodes[int(name[5:])] = demo_file.episode(name)
    for part in sorted(_parts_dir(config, task).glob("demo_*.hdf5")):
        try:
            with h5py.File(part, "r") as f:
                episodes[int(part.stem[5:])] = read_episode(f["demo"])
        except (OSError, KeyError):
            part.unlink()  # a part is renamed into place only when complete; anything else is debris
    return {i: e for i, e in episodes.items() if i < config.num_demos}


def _merge(config: CollectConfig, task: str) -> Path:
    path = task_file(config, task)
    parts = _parts_dir(config, task)
    if path.exists() and not any(parts.glob("*.hdf5")):
        with DemoFile(path) as demo_file:
            if len(demo_file.demo_names) >= config.num_demos:
                return path  # complete already: nothing to redo
    _check_room(path, [*parts.glob("demo_*.hdf5"), *([path] if path.exists() else [])])
    episodes = _existing(config, task)
    write_demo_file(path, header_for(config, task), episodes)
    shutil.rmtree(parts, ignore_errors=True)  # the parts, and any temporary file a killed writer left beside them
    return path


def _check_room(path: Path, sources: list[Path]) -> None:
    """Refuse to merge ``sources`` into ``path`` on a disk that cannot hold the result (the parts are kept)."""
    need = int(sum(source.stat().st_size for source in sources) * MERGE_ROOM) + MERGE_SLACK
    path.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path.parent).free
    if free < need:
        raise DiskFull(
            errno.ENOSPC,
            f"{path}: no space left on device for the merge (it needs about {need / 2**20:.1f} MiB, "
            f"{free / 2**20:.1f} MiB are free); nothing was written, the collected parts are kept",
        )


def collect(config: CollectConfig, progress: bool = True) -> list[Path]:
    """Collect what is missing for each task, in parallel, then merge each task's file."""
    suite = load_suite(config.suite)
    tasks = list(config.tasks) or suite.task_names
    for task in tasks:
        suite.task(task)  # unknown task names fail before any work starts
    jobs = []
    for task in tasks:
        have = _existing(config, task)
        jobs += [(config, task, slot) for slot in range(config.num_demos) if slot not in have]
    unsolved = []
    with tqdm(total=len(jobs), desc=f"collect {config.suite}", unit="demo", disable=not (progress and jobs)) as bar:
        if config.workers > 1 and len(jobs) > 1:
            with worker_context().Pool(config.workers) as pool:
                for task, slot, tries in pool.imap_unordered(_collect_slot, jobs):
                    unsolved += [(task, slot)] if tries < 0 else []
                    bar.update(1)
        else:
            for job in jobs:
                task, slot, tries = _collect_slot(job)
                unsolved += [(task, slot)] if tries < 0 else []
                bar.update(1)
    _WORKER_ENVS.clear()
    if unsolved:
        raise RuntimeError(
            f"the scripted expert failed {config.max_attempts} seeds in a row on {unsolved[:5]}: "
            "an expert or generator bug, not something to skip"
        )
    return [_merge(config, task) for task in tasks]
