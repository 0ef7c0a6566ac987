"""The lifelong run: every (ordering, seed) unit learns the suite's tasks in its order and is measured as it goes.

A unit, for K tasks in its order and E evaluation points per task:

1. ``b``: the untrained agent on every task;
2. for each task k: the strategy learns it, with ``c[k, e]`` measured at E evenly spaced gradient steps;
   then ``R[k, :]``, every task (including those not learned yet) with the weights the task ended with
   (``R[k, k]`` is the last curve point, or the best one under LIBERO's model selection);
3. after each task: the agent checkpoint, the strategy's memory, then ``progress.json`` (the commit point).

A unit that is started again resumes after its last committed task and gives the same numbers as an
uninterrupted one: every random state it uses (agent minibatches, torch, the strategy's own) is checkpointed,
evaluation starts from the suite's fixed states, and torch runs single-threaded. The file layout is in
:mod:`lifebot.lifelong.results`; how units are spread over processes or a Ray cluster is in
:mod:`lifebot.lifelong.executors`.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from tqdm import tqdm

from lifebot.agents.config import config_from_dict
from lifebot.agents.registry import agent_class, load_agent, load_agent_config
from lifebot.atomic import atomic_output
from lifebot.demos.collect import CollectConfig, collect, task_file
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.control import CONTROL_MODES
from lifebot.envs.vector import evaluate, make_vector_env
from lifebot.lifelong.results import (
    PROGRESS_FILE,
    RUN_FILE,
    RUN_SCHEMA,
    UNIT_SCHEMA,
    ResultsError,
    UnitResult,
    code_revision,
    read_json,
    unit_dir,
    unit_name,
    write_json,
)
from lifebot.lifelong.strategies import STRATEGIES
from lifebot.suites.store import load_suite, sha256_bytes
from lifebot.versions import versions

MODEL_SELECTIONS = ("last", "libero")
LOSS_WINDOWS = 50  # loss curves are stored as this many window means per task


@dataclass(frozen=True)
class RunConfig:
    """What a run measures; a run directory holds one, and a restarted run must ask for the same."""

    suite: str
    """Suite whose tasks are learned (``task_suites/<suite>``)."""
    agent: str = "bc"
    """Offline agent (``lifebot.agents.registry.AGENTS``); its config comes from ``agent_config``."""
    agent_config: str = ""
    """YAML file with the agent's config (default ``policies/<agent>.yaml``); the unit's seed replaces its seed."""
    init_checkpoint: str = ""
    """Agent checkpoint every unit starts from (its weights, config and observation normalizer), e.g. an IDM
    encoder pretrained on the ``pretrain`` suite; required for ``idm``, whose encoder is otherwise random."""
    strategy: str = "sequential"
    """Lifelong strategy (``lifebot.lifelong.strategies.STRATEGIES``)."""
    orderings: tuple[int, ...] = (0,)
    """Indices of the suite's task orderings (0 is the suite's own order)."""
    seeds: tuple[int, ...] = (0,)
    """Seeds of the agent (initialisation, minibatches) and the strategy."""
    tasks: int = 0
    """Learn only the suite's first N tasks (each ordering keeps its relative order); 0 means all."""
    demos_per_task: int = 50
    """Scripted-expert demonstrations per task (collected into ``demos_dir`` when missing)."""
    steps_per_task: int = 2000
    """Gradient steps spent on each task."""
    eval_points: int = 4
    """Evaluation points of each learning curve c[k, :], evenly spaced; the last ends the task."""
    episodes: int = 20
    """Evaluation episodes per task, from the suite's fixed evaluation states 0..episodes-1."""
    control_mode: str = "pd_ee_delta_pose"
    """Control mode of demonstrations and evaluation."""
    model_selection: str = "last"
    """``last``: a task ends with its final weights. ``libero``: with the best evaluation point's (peeks)."""
    demos_dir: str = "demos"
    """Where demonstrations are read from, and collected into when missing."""

    def __post_init__(self):
        checks = {
            "strategy": (self.strategy in STRATEGIES, f"one of {', '.join(STRATEGIES)}"),
            "model_selection": (self.model_selection in MODEL_SELECTIONS, f"one of {', '.join(MODEL_SELECTIONS)}"),
            "control_mode": (self.control_mode in CONTROL_MODES, f"one of {', '.join(CONTROL_MODES)}"),
            "orderings": (len(self.orderings) > 0 and len(set(self.orderings)) == len(self.orderings), "distinct"),
            "seeds": (len(self.seeds) > 0 and len(set(self.seeds)) == len(self.seeds), "distinct"),
            "eval_points": (1 <= self.eval_points <= self.steps_per_task, "between 1 and steps_per_task"),
            "episodes": (self.episodes >= 1, "at least 1"),
            "demos_per_task": (self.demos_per_task >= 1, "at least 1"),
            "tasks": (self.tasks >= 0 and self.tasks != 1, "0 (all) or at least 2"),
        }
        for name, (ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"run config: {name} must be {expected}, got {getattr(self, name)!r}")
        agent_class(self.agent)
        if self.agent == "idm" and not self.init_checkpoint:
            raise ValueError("run config: agent idm needs init_checkpoint (an IDM agent with a pretrained encoder)")

    @property
    def eval_steps(self) -> list[int]:
        """Gradient steps into a task at which its learning curve is measured."""
        return [round(self.steps_per_task * (e + 1) / self.eval_points) for e in range(self.eval_points)]


def plan_run(config: RunConfig) -> dict:
    """The run record (run.json): config, the agent's full config, the protocol, versions and code revision."""
    suite = load_suite(config.suite)
    tasks = suite.task_names[: config.tasks or None]
    if config.tasks > len(suite.tasks):
        raise ValueError(f"suite {suite.name} has {len(suite.tasks)} tasks, asked for {config.tasks}")
    orders = {}
    for ordering in config.orderings:
        if not 0 <= ordering < len(suite.orderings):
            raise ValueError(f"suite {suite.name} has orderings 0..{len(suite.orderings) - 1}, asked for {ordering}")
        orders[str(ordering)] = [suite.task_names[i] for i in suite.orderings[ordering] if suite.task_names[i] in tasks]
    if config.init_checkpoint:
        start = load_agent(config.init_checkpoint)
        if start.name != config.agent:
            raise ValueError(f"{config.init_checkpoint}: holds a {start.name!r} agent, not the run's {config.agent!r}")
        agent_config = start.config
    else:
        agent_config = load_agent_config(config.agent, config.agent_config or None)
    protocol = {
        "suite": suite.name,
        "suite_version": suite.version,
        "tasks": tasks,
        "episodes": config.episodes,
        "horizons": {t: suite.task(t).spec.horizon for t in tasks},
        "init_state_sha256": {t: suite.task(t).init_states_sha256 for t in tasks},
        "control_mode": config.control_mode,
        "eval_steps": config.eval_steps,
        "model_selection": config.model_selection,
        "orders": orders,
    }
    if config.init_checkpoint:
        protocol["init_checkpoint_sha256"] = sha256_bytes(Path(config.init_checkpoint).read_bytes())
    return {
        "schema": RUN_SCHEMA,
        "config": dataclasses.asdict(config),
        "agent_config": dataclasses.asdict(agent_config),
        "protocol": protocol,
        "versions": versions(),
        "code_revision": code_revision(),
    }


LOCK_FILE = ".lock"


@contextmanager
def lock_run(root: Path) -> Iterator[None]:
    """Hold the run directory's lock (fcntl, released when the process ends); a second writer is refused."""
    root.mkdir(parents=True, exist_ok=True)
    handle = open(root / LOCK_FILE, "a+")  # noqa: SIM115 - held for the whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()[:200] or "another process"
        handle.close()
        raise ResultsError(root, f"is being written by {holder}; wait for it to end or use another --out") from None
    try:
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def start_run(config: RunConfig, root: Path, workers: int = 1) -> dict:
    """Write run.json (or check that an existing one asks for the same run) and collect missing demonstrations."""
    record = plan_run(config)
    path = root / RUN_FILE
    if path.exists():
        existing = read_json(path, RUN_SCHEMA)
        for key in ("config", "agent_config", "protocol"):
            for field, value in record[key].items():
                theirs = existing[key].get(field)
                if value != theirs and not (isinstance(value, tuple) and list(value) == theirs):
                    problem = f"holds another run ({key}.{field} is {theirs!r} there, {value!r} here)"
                    raise ResultsError(path, f"{problem}; use another --out")
        record = existing
    else:
        write_json(path, record)
    collect(
        CollectConfig(
            suite=config.suite,
            tasks=tuple(record["protocol"]["tasks"]),
            num_demos=config.demos_per_task,
            workers=workers,
            control_mode=config.control_mode,
            out=Path(config.demos_dir),
        )
    )
    return record


class EvaluationPool:
    """One vectorised environment per task, made on first use and reused for every evaluation of a unit."""

    def __init__(self, suite: str, control_mode: str, episodes: int, workers: int):
        self.suite, self.control_mode, self.episodes, self.workers = suite, control_mode, episodes, workers
        self.envs = {}

    def success(self, policy, task: str) -> float:
        if task not in self.envs:
            self.envs[task] = make_vector_env(
                min(self.workers, self.episodes),
                autoreset_mode=AutoresetMode.DISABLED,
                suite=self.suite,
                task=task,
                control_mode=self.control_mode,
            )
        return evaluate(policy, self.episodes, vector_env=self.envs[task]).success_rate

    def close(self) -> None:
        for env in self.envs.values():
            env.close()
        self.envs.clear()


def _window_means(losses: list[float]) -> list[float]:
    chunks = np.array_split(np.asarray(losses, dtype=float), min(LOSS_WINDOWS, len(losses)))
    return [round(float(chunk.mean()), 6) for chunk in chunks]


class TrainingDiverged(RuntimeError):
    """Training produced NaN or infinite losses or weights: nothing after it can be trusted or committed."""


def _check_finite(agent, losses: list[float], where: str) -> None:
    if not np.isfinite(np.asarray(losses, dtype=float)).all():
        raise TrainingDiverged(f"{where}: training loss became non-finite (NaN or inf); nothing was committed")
    for name, tensor in agent.policy.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise TrainingDiverged(f"{where}: weight {name} became non-finite (NaN or inf); nothing was committed")


def _strategy_file(directory: Path, k: int) -> Path:
    return directory / "checkpoints" / f"strategy_{k}.pt"


def _agent_file(directory: Path, k: int) -> Path:
    return directory / "checkpoints" / f"task_{k}.pt"


def run_unit(root: str | Path, ordering: int, seed: int, workers: int = 1, driver_pid: int | None = None) -> dict:
    """Run (or resume) one (ordering, seed) unit of the run at ``root``; returns its result document.

    ``driver_pid``: stop (without committing anything) as soon as that process is gone, so a killed local
    run never leaves a worker writing beside the run that resumes it.
    """
    torch.set_num_threads(1)
    root = Path(root)
    record = read_json(root / RUN_FILE, RUN_SCHEMA)
    config, protocol = record["config"], record["protocol"]
    order = protocol["orders"][str(ordering)]
    directory = unit_dir(root, ordering, seed)
    progress_path = directory / PROGRESS_FILE
    if progress_path.exists():
        unit = UnitResult.from_json(read_json(progress_path, UNIT_SCHEMA), progress_path)
    else:
        unit = UnitResult(ordering=ordering, seed=seed, order=order, versions=record["versions"])

    demos = CollectConfig(suite=protocol["suite"], num_demos=config["demos_per_task"], out=Path(config["demos_dir"]))
    paths = {task: task_file(demos, task) for task in protocol["tasks"]}
    start = load_agent(config["init_checkpoint"]) if config["init_checkpoint"] else None
    if start is not None:
        normalizer = start.normalizer  # the encoder was trained on observations scaled this way
    else:
        normalizer = DemoDataset(list(paths.values()), max_demos_per_file=config["demos_per_task"]).normalizer
    cls = agent_class(config["agent"])
    agent_config = config_from_dict(cls.config_class, {**record["agent_config"], "seed": seed}, str(root / RUN_FILE))
    obs_dim = len(normalizer.mean)

    def make_agent():
        agent = cls(agent_config, obs_dim, normalizer, protocol["control_mode"])
        if start is not None:
            agent.policy.load_state_dict(start.policy.state_dict())
        return agent

    strategy = STRATEGIES[config["strategy"]](make_agent, seed=seed)
    if unit.tasks_done:
        last = unit.tasks_done - 1
        strategy.agent = cls.load(_agent_file(directory, last))
        state = torch.load(_strategy_file(directory, last), weights_only=True)
        strategy.load_state_dict(state["strategy"])
        strategy.agent.rng.bit_generator.state = state["agent_rng"]
        torch.set_rng_state(state["torch_rng"])

    def alive() -> None:
        if driver_pid is not None and not _process_exists(driver_pid):
            raise SystemExit(f"unit {unit_dir(root, ordering, seed)}: the run that started it is gone")

    pool = EvaluationPool(protocol["suite"], protocol["control_mode"], protocol["episodes"], workers)
    start = time.perf_counter() - unit.seconds
    bar = tqdm(total=len(order), initial=unit.tasks_done, desc=f"o{ordering}_s{seed}", unit="task")
    try:
        if not unit.b:
            unit.b = [pool.success(strategy.agent, task) for task in order]
            unit.seconds = time.perf_counter() - start
            write_json(progress_path, unit.to_json())
        for k in range(unit.tasks_done, len(order)):
            task, curve = order[k], []

            def measure(step: int, task: str = task, curve: list = curve) -> float:
                alive()
                _check_finite(strategy.agent, [], f"unit {unit_name(ordering, seed)}, task {task}, step {step}")
                curve.append(pool.success(strategy.agent, task))
                return curve[-1]

            dataset = DemoDataset([paths[task]], normalizer=normalizer, max_demos_per_file=config["demos_per_task"])
            losses = strategy.learn_task(
                dataset,
                config["steps_per_task"],
                eval_points=protocol["eval_steps"],
                evaluate=measure,
                keep_best=protocol["model_selection"] == "libero",
            )
            _check_finite(strategy.agent, losses, f"unit {unit_name(ordering, seed)}, task {task}")
            alive()
            final = curve[-1] if protocol["model_selection"] == "last" else max(curve)
            row = [final if j == k else pool.success(strategy.agent, other) for j, other in enumerate(order)]
            strategy.agent.save(_agent_file(directory, k))
            state = {
                "strategy": strategy.state_dict(),
                "agent_rng": strategy.agent.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
            }
            with atomic_output(_strategy_file(directory, k)) as tmp:
                torch.save(state, tmp)
            unit.R.append(row)
            unit.c.append(curve)
            unit.losses.append(_window_means(losses))
            unit.seconds = time.perf_counter() - start
            alive()
            write_json(progress_path, unit.to_json())  # the commit point of task k
            if k > 0:
                _strategy_file(directory, k - 1).unlink(missing_ok=True)
            bar.update(1)
    finally:
        bar.close()
        pool.close()
    return unit.to_json()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
