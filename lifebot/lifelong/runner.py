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

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lifebot.agents.config import config_from_dict
from lifebot.agents.registry import agent_class, load_agent, load_agent_config
from lifebot.demos.collect import CollectConfig, collect, task_file
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.control import CONTROL_MODES
from lifebot.envs.gym_env import REWARDS, LifebotEnv
from lifebot.envs.vector import EvaluationPool
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
    write_json,
)
from lifebot.lifelong.strategies import STRATEGIES, Strategy, Transitions, load_strategy_config
from lifebot.suites.store import load_suite, sha256_bytes
from lifebot.versions import versions

MODEL_SELECTIONS = ("last", "libero")
LOSS_WINDOWS = 50  # loss curves are stored as this many window means per task


@dataclass(frozen=True)
class RunConfig:
    """What a run measures; a run directory holds one, and a restarted run must ask for the same."""

    suite: str
    """Suite whose tasks are learned (``task_suites/<suite>``)."""
    agent: str = "chunking"
    """Agent (``lifebot.agents.registry.AGENTS``); its config comes from ``agent_config``. The default is
    the one the baseline card (``docs/baseline_card.md``) found to master single tasks."""
    agent_config: str = ""
    """YAML file with the agent's config (default ``policies/<agent>.yaml``); the unit's seed replaces its seed."""
    init_checkpoint: str = ""
    """Agent checkpoint every unit starts from (its weights, config and observation normalizer), e.g. an IDM
    encoder pretrained on the ``pretrain`` suite; required for ``idm``, whose encoder is otherwise random."""
    strategy: str = "sequential"
    """Lifelong strategy (``lifebot.lifelong.strategies.STRATEGIES``)."""
    strategy_config: str = ""
    """YAML file with the strategy's typed config (default: its defaults); run.json records the result."""
    strategy_options: tuple[str, ...] = ()
    """``key=value`` settings of the strategy's config, applied over ``strategy_config``."""
    orderings: tuple[int, ...] = (0,)
    """Indices of the suite's task orderings (0 is the suite's own order)."""
    seeds: tuple[int, ...] = (0,)
    """Seeds of the agent (initialisation, minibatches) and the strategy."""
    tasks: int = 0
    """Learn only the suite's first N tasks (each ordering keeps its relative order); 0 means all."""
    demos_per_task: int = 50
    """Scripted-expert demonstrations per task (collected into ``demos_dir`` when missing)."""
    steps_per_task: int = 2000
    """Gradient steps spent on each task's demonstrations (an online agent's offline pretraining)."""
    online_steps: int = 0
    """Online environment steps on each task after its demonstrations (online agents, e.g. ``wsrl``; their
    warmup included); the learning curve is measured along them. 0 for an offline agent."""
    reward: str = "sparse"
    """Reward of the online phase's environment: ``sparse`` (1 on success) or ``dense`` (shaped)."""
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
            "eval_points": (1 <= self.eval_points <= self.curve_steps, "between 1 and the curve's steps"),
            "reward": (self.reward in REWARDS, f"one of {', '.join(REWARDS)}"),
            "episodes": (self.episodes >= 1, "at least 1"),
            "demos_per_task": (self.demos_per_task >= 1, "at least 1"),
            "tasks": (self.tasks >= 0 and self.tasks != 1, "0 (all) or at least 2"),
        }
        for name, (ok, expected) in checks.items():
            if not ok:
                raise ValueError(f"run config: {name} must be {expected}, got {getattr(self, name)!r}")
        online = agent_class(self.agent).online
        if online != (self.online_steps > 0):
            need = "online_steps >= 1" if online else "online_steps 0 (it learns from demonstrations only)"
            raise ValueError(f"run config: agent {self.agent} needs {need}, got {self.online_steps}")
        if online and self.model_selection != "last":
            raise ValueError(f"run config: agent {self.agent} learns online: model_selection must be 'last'")
        load_strategy_config(self.strategy, self.strategy_config or None, self.strategy_options)
        if self.agent == "idm" and not self.init_checkpoint:
            raise ValueError("run config: agent idm needs init_checkpoint (an IDM agent with a pretrained encoder)")

    @property
    def curve_steps(self) -> int:
        """Length of a task's learning curve: its online steps for an online agent, else its gradient steps."""
        return self.online_steps or self.steps_per_task

    @property
    def eval_steps(self) -> list[int]:
        """Steps into a task (online or gradient, :attr:`curve_steps`) at which its learning curve is measured."""
        return [round(self.curve_steps * (e + 1) / self.eval_points) for e in range(self.eval_points)]


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


def start_run(config: RunConfig, root: Path, workers: int = 1) -> dict:
    """Write run.json (or check that an existing one asks for the same run) and collect missing demonstrations."""
    record = plan_run(config)
    path = root / RUN_FILE
    if path.exists():
        existing = read_json(path, RUN_SCHEMA)
        for key in ("config", "agent_config", "strategy_config", "protocol"):
            for field, value in record[key].items():
                theirs = existing.get(key, {}).get(field)
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


def _window_means(losses: list[float]) -> list[float]:
    if not losses:  # e.g. an online phase that was all warmup
        return []
    chunks = np.array_split(np.asarray(losses, dtype=float), min(LOSS_WINDOWS, len(losses)))
    return [round(float(chunk.mean()), 6) for chunk in chunks]


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
            agent.policy.load_state_dict(initial.policy.state_dict())
        return agent

    strategy_class = STRATEGIES[config["strategy"]]
    source = f"{root / RUN_FILE}: strategy_config"
    strategy_config = config_from_dict(strategy_class.config_class, record.get("strategy_config", {}), source)
    strategy = strategy_class(make_agent, strategy_config, seed=seed)
    if unit.tasks_done:
        last = unit.tasks_done - 1
        strategy.agent = cls.load(_agent_file(directory, last))  # with its random states
        strategy.load_state_dict(torch.load(_strategy_file(directory, last), weights_only=True)["strategy"])

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
                curve.append(success([task])[0])
                return curve[-1]

            began = time.perf_counter()
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
            alive()
            final = curve[-1] if protocol["model_selection"] == "last" else max(curve)
            policies = {j: strategy.policy_for(j) for j in range(len(order)) if j != k}
            shared = [j for j, policy in policies.items() if policy is strategy.agent]
            rates = dict(zip(shared, success([order[j] for j in shared]), strict=True))  # together: workers stay busy
            rates.update({j: success([order[j]], policy)[0] for j, policy in policies.items() if j not in rates})
            row = [final if j == k else rates[j] for j in range(len(order))]
            strategy.agent.save(_agent_file(directory, k))
            torch.save({"strategy": strategy.state_dict()}, _strategy_file(directory, k))
            unit.R.append(row)
            unit.c.append(curve)
            unit.losses.append(_window_means(losses))
            unit.online_steps.append(config["online_steps"])
            unit.task_seconds.append(round(time.perf_counter() - began, 3))
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
