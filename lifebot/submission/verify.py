"""Re-measuring a submission (``lifebot submit verify``): its final checkpoints on the suite's fixed states.

For every unit, the agent after its last task (``<checkpoints>/units/<unit>/checkpoints/task_<K-1>.pt``, the run
directory's layout; checked against the submission's hash when it gives one, and loaded as weights only) is
evaluated on every task of the unit, on the protocol's episodes, exactly as the runner measured the final row of
``R``. A task agrees when the re-measured success lies in the Wilson score interval of the claimed one
(95 %, ``protocol.episodes`` trials): evaluation is deterministic, so a disagreement means other
weights, another simulator, or another claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from lifebot.agents.registry import load_agent
from lifebot.envs.vector import EvaluationPool
from lifebot.lifelong.metrics import wilson_interval
from lifebot.lifelong.results import unit_name
from lifebot.submission.make import final_checkpoint, sha256_file
from lifebot.submission.validate import validate_file


@dataclass(frozen=True)
class TaskCheck:
    unit: str
    task: str
    claimed: float
    measured: float
    ci_low: float
    ci_high: float

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


def verify_submission(path: str | Path, checkpoints: str | Path, workers: int = 1) -> Verification:
    """Validate the file, then re-evaluate each unit's final checkpoint against the last row of its ``R``."""
    document = validate_file(path).document
    protocol, checkpoints = document["protocol"], Path(checkpoints)
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
            measured = pool.success_rates(load_agent(file), suite, order, protocol["episodes"], control_mode=mode)
            for task, claimed, rate in zip(order, unit["R"][-1], measured, strict=True):
                low, high = wilson_interval(claimed, protocol["episodes"])
                result.checks.append(TaskCheck(name, task, claimed, rate, low, high))
    return result
