"""Building a leaderboard submission from a finished run directory (``lifebot submit make``).

A submission (``schema: "lifebot.submission/2"``, JSON Schema ``lifebot/submission/schema/submission-2.json``;
version 1, the same without ``metric_set``, still validates, as metric set 1)::

    method        {name, description}: free text, escaped wherever it is shown
    agent         {name, config}: the agent and every field of its typed config
    strategy      {name, config}: the lifelong strategy and its settings
    run_config    the run's RunConfig fields, as run.json records them
    suite         {name, version}: an official suite of task_suites/ and its version hash
    protocol      tasks, episodes, horizons {task: steps}, init_state_sha256 {task: hash}, control_mode,
                  eval_steps, model_selection: exactly as the suite files and the run define them
    orderings, seeds                    the units: every (ordering, seed) pair, once
    units [{ordering, seed, order, b, R, c}]   the raw matrices of each unit (see lifebot.lifelong.results)
    bootstrap     {confidence, resamples, seed}: how the confidence intervals are computed
    metric_set    the version of the metric set claimed (lifebot.lifelong.metrics.METRIC_SETS)
    metrics       {metric: {mean, std, ci_low, ci_high, n}} for every metric of that set the matrices give
    versions      lifebot / MuJoCo / robosuite; code_revision: the run's git commit
    checkpoints   optional {unit: sha256 of units/<unit>/checkpoints/task_<K-1>.pt}, for ``submit verify``

Every number under ``metrics`` is a function of ``units`` (:func:`metric_claims`); ``submit validate``
recomputes them and rejects a file whose claims differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from lifebot.atomic import atomic_write_json
from lifebot.lifelong.metrics import METRIC_SET, METRIC_SETS, run_metrics, summarize_runs
from lifebot.lifelong.results import RESULT_FILE, Run, load_run, unit_dir, unit_name

SUBMISSION_SCHEMA = "lifebot.submission/2"
BOOTSTRAP = {"confidence": 0.95, "resamples": 2000, "seed": 0}
PROTOCOL_FIELDS = (
    "tasks",
    "episodes",
    "horizons",
    "init_state_sha256",
    "control_mode",
    "eval_steps",
    "model_selection",
)
UNIT_FIELDS = ("ordering", "seed", "order", "b", "R", "c")


def final_checkpoint(root: Path, ordering: int, seed: int, num_tasks: int) -> Path:
    """Where a run keeps a unit's agent after its last task (what ``submit verify`` re-evaluates)."""
    return unit_dir(root, ordering, seed) / "checkpoints" / f"task_{num_tasks - 1}.pt"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def metric_claims(units: list[dict], metric_set: int = METRIC_SET) -> dict[str, dict]:
    """Each metric of ``metric_set`` finite in every unit, summarised over the units (by ordering, seed)."""
    units = sorted(units, key=lambda u: (u["ordering"], u["seed"]))
    per_unit = [
        run_metrics(
            np.asarray(u["R"], dtype=float),
            np.asarray(u["c"], dtype=float),
            np.asarray(u["b"], dtype=float) if u["b"] else None,
            names=METRIC_SETS[metric_set],
        )
        for u in units
    ]
    return {name: dataclasses.asdict(s) for name, s in summarize_runs(per_unit, **BOOTSTRAP).items()}


def _strategy(name: str, record: dict) -> dict:
    """The strategy and its typed config as run.json records it (its defaults, for runs older than that record)."""
    settings = record.get("strategy_config")
    if settings is None:
        from lifebot.lifelong.strategies import STRATEGIES  # torch: only making a submission needs it, not validating

        settings = dataclasses.asdict(STRATEGIES[name].config_class())
    return {"name": name, "config": settings}


def _finished_units(run: Run) -> list[dict]:
    done = {(u.ordering, u.seed): u for u in run.units if u.finished}
    missing = [unit_name(o, s) for o, s in run.expected_units() if (o, s) not in done]
    if missing:
        raise ValueError(
            f"{run.root}: units {', '.join(missing)} have not finished (no complete {RESULT_FILE}); "
            "a submission holds every (ordering, seed) of the run"
        )
    return [{k: getattr(done[key], k) for k in UNIT_FIELDS} for key in run.expected_units()]


def make_submission(run_dir: str | Path, method: str, description: str = "") -> dict:
    """The submission document of a finished run (validate it before publishing: :func:`validate_document`)."""
    run = load_run(run_dir)
    record, config = run.record, run.config
    units = _finished_units(run)
    document = {
        "schema": SUBMISSION_SCHEMA,
        "method": {"name": method, "description": description},
        "agent": {"name": config["agent"], "config": record["agent_config"]},
        "strategy": _strategy(config["strategy"], record),
        "run_config": config,
        "suite": {"name": run.protocol["suite"], "version": run.protocol["suite_version"]},
        "protocol": {k: run.protocol[k] for k in PROTOCOL_FIELDS},
        "orderings": list(config["orderings"]),
        "seeds": list(config["seeds"]),
        "units": units,
        "bootstrap": dict(BOOTSTRAP),
        "metric_set": METRIC_SET,
        "metrics": metric_claims(units),
        "versions": {k: record["versions"][k] for k in ("lifebot", "mujoco", "robosuite")},
        "code_revision": record["code_revision"],
    }
    checkpoints = {}
    for unit in units:
        path = final_checkpoint(run.root, unit["ordering"], unit["seed"], len(unit["order"]))
        if path.is_file():
            checkpoints[unit_name(unit["ordering"], unit["seed"])] = sha256_file(path)
    if checkpoints:
        document["checkpoints"] = checkpoints
    return document


def write_submission(document: dict, path: Path) -> Path:
    atomic_write_json(path, document)
    return path
