"""Re-measuring a submission (``lifebot submit verify``): its final checkpoints on the suite's fixed states.

For every unit, the agent after its last task (``<checkpoints>/units/<unit>/checkpoints/task_<K-1>.pt``, the run
directory's layout; checked against the submission's hash when it gives one, and loaded as weights only) is
evaluated on every task of the unit, on the protocol's episodes, exactly as the runner measured the final row of
``R``: with the weights the run's strategy lets act on each task (PackNet's masks, from the strategy state the run
keeps beside it, ``strategy_<K-1>.pt``). A task agrees when the re-measured success lies in the Wilson score
interval of the claimed one (95 %, ``protocol.episodes`` trials): evaluation is deterministic, so a disagreement
means other weights, another simulator, or another claim.

With private evaluation states (``lifebot suites private``, a suites folder of held-out starts from a secret
seed), each task is measured on all of its private states as well: public against private success per task shows
a method tuned to the public states.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from lifebot.agents.registry import load_agent
from lifebot.envs.vector import EvaluationPool
from lifebot.lifelong.metrics import wilson_interval
from lifebot.lifelong.results import unit_dir, unit_name
from lifebot.lifelong.runner import chooses_policies, restore_strategy, strategy_file
from lifebot.submission.make import final_checkpoint, sha256_file
from lifebot.submission.validate import validate_file
from lifebot.suites.store import Suite, load_suite


@dataclass(frozen=True)
class TaskCheck:
    unit: str
    task: str
    claimed: float
    measured: float
    ci_low: float
    ci_high: float
    private: float | None = None
    """Success on the task's private evaluation states (when verifying with them)."""

    @property
    def agrees(self) -> bool:
        return self.ci_low - 1e-12 <= self.measured <= self.ci_high + 1e-12


@dataclass
class Verification:
    checks: list[TaskCheck]
    problems: list[str]
    """Units that could not be re-measured (checkpoint missing or not the one the submission hashed)."""

    @property
    def agrees(self) -> bool:
        return not self.problems and all(check.agrees for check in self.checks)


def held_out(private: Path, suite: Suite, tasks: list[str]) -> int:
    """The private states' count per task, once they are known to be for ``tasks`` of ``suite`` (same specs)."""
    theirs = load_suite(suite.name, private)
    for task in tasks:
        if theirs.task(task).spec.task_id != suite.task(task).spec.task_id:
            raise ValueError(f"{theirs.root}: task {task} is not the one of suite {suite.name} (its spec differs)")
    return min(theirs.task(task).num_init_states for task in tasks)


def verify_submission(
    path: str | Path, checkpoints: str | Path, workers: int = 1, private: str | Path | None = None
) -> Verification:
    """Validate the file, then re-evaluate each unit's final checkpoint against the last row of its ``R``."""
    submission = validate_file(path)
    document = submission.document
    protocol, checkpoints = document["protocol"], Path(checkpoints)
    private_episodes = held_out(Path(private), submission.suite, protocol["tasks"]) if private else 0
    hashes = document.get("checkpoints", {})
    result = Verification([], [])
    with EvaluationPool(workers) as pool:  # one set of workers (and environments) for every unit
        for unit in tqdm(document["units"], desc="verify", unit="unit"):
            name, order = unit_name(unit["ordering"], unit["seed"]), unit["order"]
            file = final_checkpoint(checkpoints, unit["ordering"], unit["seed"], len(order))
            if not file.is_file():
                result.problems.append(f"{name}: no checkpoint {file}")
                continue
            if name in hashes and sha256_file(file) != hashes[name]:
                result.problems.append(
                    f"{name}: {file} is not the checkpoint the submission hashed (checkpoints.{name})"
                )
                continue
            suite, mode = document["suite"]["name"], protocol["control_mode"]
            agent = load_agent(file)
            strategy, state = document["strategy"], None
            if chooses_policies(strategy["name"]):
                state = strategy_file(unit_dir(checkpoints, unit["ordering"], unit["seed"]), len(order) - 1)
                if not state.is_file():
                    result.problems.append(
                        f"{name}: no strategy state {state} (strategy {strategy['name']} chooses the weights that "
                        "act on each task)"
                    )
                    continue
            source = f"{path}: strategy.config"
            made = lambda agent=agent: agent  # noqa: E731  (the strategy's agent is the checkpoint's)
            acting = restore_strategy(strategy["name"], strategy["config"], made, state, unit["seed"], source)
            policies = [acting.policy_for(j) for j in range(len(order))]  # as the runner measured R's last row
            measured = pool.success_rates_each(policies, suite, order, protocol["episodes"], control_mode=mode)
            hidden = [None] * len(order)
            if private:
                hidden = pool.success_rates_each(
                    policies, suite, order, private_episodes, control_mode=mode, suites_dir=str(private)
                )
            for task, claimed, rate, secret in zip(order, unit["R"][-1], measured, hidden, strict=True):
                low, high = wilson_interval(claimed, protocol["episodes"])
                result.checks.append(TaskCheck(name, task, claimed, rate, low, high, secret))
    return result
