"""The lifelong run: every (ordering, seed) unit learns the suite's tasks in its order and is measured as it goes.

A unit, for K tasks in its order and E evaluation points per task:

1. ``b``: the untrained agent on every task;
2. for each task k: the strategy learns it, with ``c[k, e]`` measured at E evenly spaced gradient steps
   (an offline agent) or online steps (an online agent: offline pretraining on task k's demonstrations from
   the agent as task k-1 left it, then ``online_steps`` environment steps on task k, the warmup included);
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

import copy
import dataclasses
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lifebot.agents.config import config_from_dict
from lifebot.agents.registry import agent_class, load_agent, load_agent_config
from lifebot.atomic import atomic_output
from lifebot.demos.collect import CollectConfig, collect, task_file
from lifebot.demos.dataset import DemoDataset
from lifebot.demos.format import DemoFile, DemoFileError
from lifebot.envs.gym_env import LifebotEnv
from lifebot.envs.vector import EvaluationPool
from lifebot.lifelong.config import MODEL_SELECTIONS, RunConfig  # noqa: F401  (MODEL_SELECTIONS: re-exported)
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
from lifebot.lifelong.strategies import STRATEGIES, Strategy, Transitions, load_strategy_config
from lifebot.suites.store import load_suite, sha256_bytes
from lifebot.versions import versions

LOSS_WINDOWS = 50  # loss curves are stored as this many window means per task


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
        if config.agent_config:  # another config on the same weights (e.g. the encoder fine-tuned, not frozen)
            agent_config = load_agent_config(config.agent, config.agent_config)
            fits = type(start)(agent_config, start.obs_dim, start.normalizer, start.control_mode)
            try:
                fits.load_policy(start.acting_policy.state_dict())
            except RuntimeError as exc:
                problem = f"does not fit {config.init_checkpoint}'s weights: {exc}"
                raise ValueError(f"{config.agent_config}: {problem}") from None
    else:
        agent_config = load_agent_config(config.agent, config.agent_config or None)
    if getattr(agent_config, "observation", "state") != "state":
        source = config.agent_config or config.init_checkpoint or f"the {config.agent} preset"
        raise ValueError(
            f"{source}: a policy on {agent_config.observation} observations; lifebot run learns from state "
            "demonstrations (image policies train in benchmarks/idm_vs_scratch.py --encoder-input images)"
        )
    protocol = {
        "suite": suite.name,
        "suite_version": suite.version,
        "tasks": tasks,
        "episodes": config.episodes,
        "horizons": {t: suite.task(t).spec.horizon for t in tasks},
        "init_state_sha256": {t: suite.task(t).init_states_sha256 for t in tasks},
        "control_mode": config.control_mode,
        "eval_steps": config.eval_steps,
        "curve_unit": "online_steps" if config.online_steps else "gradient_steps",
        "model_selection": config.model_selection,
        "orders": orders,
    }
    if config.init_checkpoint:
        protocol["init_checkpoint_sha256"] = sha256_bytes(Path(config.init_checkpoint).read_bytes())
    return {
        "schema": RUN_SCHEMA,
        "config": dataclasses.asdict(config),
        "agent_config": dataclasses.asdict(agent_config),
        "strategy_config": dataclasses.asdict(
            load_strategy_config(config.strategy, config.strategy_config or None, config.strategy_options)
        ),
        "protocol": protocol,
        "versions": versions(),
        "code_revision": code_revision(),
    }


def check_demos(config: RunConfig, tasks: list[str]) -> None:
    """Refuse, before any work, demonstrations already in ``demos_dir`` that were recorded in another control mode."""
    demos = CollectConfig(suite=config.suite, out=Path(config.demos_dir))
    for task in tasks:
        path = task_file(demos, task)
        if path.exists():
            with DemoFile(path) as demo_file:
                theirs = demo_file.header.control_mode
            if theirs != config.control_mode:
                raise DemoFileError(
                    path,
                    f"holds control_mode={theirs!r} demos, this run asks for {config.control_mode!r}; "
                    f"pass --control-mode {theirs} to use them, or another --demos-dir to collect new ones",
                )


def unit_started(root: Path) -> bool:
    """Whether any unit of the run at ``root`` has written anything (before that, its run.json may be replaced)."""
    units = root / "units"
    return units.exists() and any(p.is_file() for p in units.rglob("*"))


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


def _same(value, recorded) -> bool:
    return value == recorded or (isinstance(value, tuple) and list(value) == recorded)


def _field_defaults(config: RunConfig) -> dict[str, dict]:
    """Per run.json section, its config class's field defaults (the protocol has none: it is measured)."""

    def defaults(cls) -> dict:
        fields = dataclasses.fields(cls)
        return {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}

    return {
        "config": defaults(RunConfig),
        "agent_config": defaults(agent_class(config.agent).config_class),
        "strategy_config": defaults(STRATEGIES[config.strategy].config_class),
        "protocol": {},
    }


UNIT_AXES = ("orderings", "seeds")  # a run grows along these: new units beside the measured ones
GROWING_FIELDS = {("config", axis) for axis in UNIT_AXES} | {("protocol", "orders")}


def _check_same_run(record: dict, existing: dict, added: dict[str, dict], path: Path) -> None:
    """Refuse ``record`` unless it asks for ``existing``'s run, perhaps with more orderings or seeds."""
    for key in ("config", "agent_config", "strategy_config", "protocol"):
        for field, value in record[key].items():
            if (key, field) in GROWING_FIELDS:
                continue
            if field not in existing.get(key, {}) and field in added[key] and _same(value, added[key][field]):
                continue  # a field added since the run started, at the default that does what the run did
            theirs = existing.get(key, {}).get(field)
            if not _same(value, theirs):
                problem = f"holds another run ({key}.{field} is {theirs!r} there, {value!r} here)"
                raise ResultsError(path, f"{problem}; use another --out")


def _grown(existing: dict, record: dict) -> dict:
    """``existing`` with the orderings and seeds ``record`` adds after its own (its units stay as measured)."""
    grown = copy.deepcopy(existing)
    for axis in UNIT_AXES:
        have = list(grown["config"][axis])
        grown["config"][axis] = have + [x for x in record["config"][axis] if x not in have]
    orders = grown["protocol"]["orders"]
    orders.update({o: order for o, order in record["protocol"]["orders"].items() if o not in orders})
    return grown


def start_run(config: RunConfig, root: Path, workers: int = 1) -> dict:
    """Write run.json (or check that an existing one asks for the same run) and collect missing demonstrations.

    A run that stopped before its first unit wrote anything (bad demos, an interrupted collection) has measured
    nothing, so its run.json gives way to the corrected command's. A started run may grow: the same command with
    other ``--orderings`` or ``--seeds`` adds those units to it (run.json lists all), so a second seed joins the
    first one's report and submission instead of starting a separate run.
    """
    record = plan_run(config)
    check_demos(config, record["protocol"]["tasks"])
    path = root / RUN_FILE
    if path.exists() and unit_started(root):
        existing = read_json(path, RUN_SCHEMA)
        _check_same_run(record, existing, _field_defaults(config), path)
        record = _grown(existing, record)
        if record != existing:
            write_json(path, record)
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


def _window_means(losses: list[float]) -> list[float]:
    if not losses:  # e.g. an online phase that was all warmup
        return []
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


def strategy_file(directory: Path, k: int) -> Path:
    """The strategy's memory after task ``k`` of the unit at ``directory`` (kept for its last task)."""
    return directory / "checkpoints" / f"strategy_{k}.pt"


def restore_strategy(name: str, settings: dict, agent_factory, state: Path | None, seed: int, source: str) -> Strategy:
    """Strategy ``name`` (config ``settings``) on agents from ``agent_factory``, with the memory saved at ``state``
    if given."""
    strategy_class = STRATEGIES[name]
    config = config_from_dict(strategy_class.config_class, settings, source)
    strategy = strategy_class(agent_factory, config, seed=seed)
    if state is not None:
        strategy.load_state_dict(torch.load(state, weights_only=True)["strategy"])
    return strategy


def chooses_policies(name: str) -> bool:
    """Whether strategy ``name`` lets other weights than its agent's act on some tasks (PackNet): re-measuring
    its rows then needs its memory."""
    return STRATEGIES[name].policy_for is not Strategy.policy_for


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
    initial = load_agent(config["init_checkpoint"]) if config["init_checkpoint"] else None
    if initial is not None:
        normalizer = initial.normalizer  # the encoder was trained on observations scaled this way
    else:
        normalizer = DemoDataset(list(paths.values()), max_demos_per_file=config["demos_per_task"]).normalizer
    cls = agent_class(config["agent"])
    agent_config = config_from_dict(cls.config_class, {**record["agent_config"], "seed": seed}, str(root / RUN_FILE))
    obs_dim = len(normalizer.mean)

    def make_agent():
        agent = cls(agent_config, obs_dim, normalizer, protocol["control_mode"])
        if initial is not None:
            agent.load_policy(initial.acting_policy.state_dict())
        return agent

    source = f"{root / RUN_FILE}: strategy_config"
    strategy = restore_strategy(config["strategy"], record.get("strategy_config", {}), make_agent, None, seed, source)
    if unit.tasks_done:
        last = unit.tasks_done - 1
        strategy.agent = cls.load(_agent_file(directory, last))  # with its random states
        strategy.load_state_dict(torch.load(strategy_file(directory, last), weights_only=True)["strategy"])

    def alive() -> None:
        if driver_pid is not None and not _process_exists(driver_pid):
            raise SystemExit(f"unit {unit_dir(root, ordering, seed)}: the run that started it is gone")

    pool = EvaluationPool(workers)  # its workers keep every task's environments for the whole unit

    def success(tasks: list[str], policy=None) -> list[float]:
        return pool.success_rates(
            policy or strategy.agent,
            protocol["suite"],
            tasks,
            protocol["episodes"],
            control_mode=protocol["control_mode"],
        )

    start = time.perf_counter() - unit.seconds
    bar = tqdm(total=len(order), initial=unit.tasks_done, desc=f"o{ordering}_s{seed}", unit="task")
    try:
        if not unit.b:
            unit.b = success(order)
            unit.seconds = time.perf_counter() - start
            write_json(progress_path, unit.to_json())
        for k in range(unit.tasks_done, len(order)):
            task, curve = order[k], []

            def measure(step: int, task: str = task, curve: list = curve) -> float:
                alive()
                _check_finite(strategy.agent, [], f"unit {unit_name(ordering, seed)}, task {task}, step {step}")
                curve.append(success([task])[0])
                return curve[-1]

            began = time.perf_counter()
            if config.get("fresh_optimizer"):  # absent from run.json files written before the field: carried
                strategy.agent.restart_optimizer()
            dataset = DemoDataset([paths[task]], normalizer=normalizer, max_demos_per_file=config["demos_per_task"])
            data = strategy.agent.transitions(dataset)
            losses = strategy.learn_task(
                data,
                config["steps_per_task"],
                eval_points=() if cls.online else protocol["eval_steps"],
                evaluate=measure,
                keep_best=protocol["model_selection"] == "libero",
            )
            if cls.online:
                losses += _learn_online(strategy, data, task, config, protocol, measure)
            _check_finite(strategy.agent, losses, f"unit {unit_name(ordering, seed)}, task {task}")
            alive()
            final = curve[-1] if protocol["model_selection"] == "last" else max(curve)
            others = [j for j in range(len(order)) if j != k]
            measured = pool.success_rates_each(
                [strategy.policy_for(j) for j in others],
                protocol["suite"],
                [order[j] for j in others],
                protocol["episodes"],
                control_mode=protocol["control_mode"],
            )
            rates = dict(zip(others, measured, strict=True))
            row = [final if j == k else rates[j] for j in range(len(order))]
            strategy.agent.save(_agent_file(directory, k))
            with atomic_output(strategy_file(directory, k)) as tmp:
                torch.save({"strategy": strategy.state_dict()}, tmp)
            unit.R.append(row)
            unit.c.append(curve)
            unit.losses.append(_window_means(losses))
            unit.online_steps.append(config["online_steps"])
            unit.task_seconds.append(round(time.perf_counter() - began, 3))
            unit.seconds = time.perf_counter() - start
            alive()
            write_json(progress_path, unit.to_json())  # the commit point of task k
            if k > 0:
                strategy_file(directory, k - 1).unlink(missing_ok=True)
            bar.update(1)
    finally:
        bar.close()
        pool.close()
    return unit.to_json()


def _learn_online(strategy: Strategy, data, task: str, config: dict, protocol: dict, measure) -> list[float]:
    """Task ``task``'s online phase: ``online_steps`` steps in its environment, the curve measured along them.

    A strategy that trains on more than the current task's demonstrations (it overrides ``training_data``:
    ``er``, ``multitask``) has that data replayed beside the online transitions (half of every batch); the
    others (``sequential``, ``ewc``, ``single_task``) learn from online transitions only, as WSRL does.
    """
    retains = type(strategy).training_data is not Strategy.training_data
    offline = strategy.training_data(Transitions.of(data)) if retains else None
    env = LifebotEnv(suite=protocol["suite"], task=task, control_mode=protocol["control_mode"], reward=config["reward"])
    try:
        return strategy.agent.learn_online(
            env, config["online_steps"], eval_points=protocol["eval_steps"], evaluate=measure, offline=offline
        )
    finally:
        env.close()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
