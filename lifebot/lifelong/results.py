"""The files a lifelong run writes, their schema, and reading them back (the contract reports and submissions use).

A run directory::

    runs/<name>/
      run.json                          the run: config, protocol, versions, code revision (written once)
      units/o<ordering>_s<seed>/
        progress.json                   R rows and curves so far, rewritten atomically after every task
        checkpoints/task_<k>.pt         the agent after task k of the unit's order (lifebot agent checkpoint)
        strategy.pt                     the strategy's memory after the last finished task (for resuming)
        result.json                     the unit's final record, written once the unit has finished
      report/                           written by ``lifebot report``

``run.json`` (``schema: "lifebot.run/1"``)::

    config        the RunConfig fields (suite, agent, strategy, orderings, seeds, steps, episodes, ...)
    agent_config  every field of the agent's typed config
    strategy_config  every field of the strategy's typed config
    protocol      suite, suite_version, tasks (suite order), episodes, horizons {task: steps},
                  init_state_sha256 {task: hash}, control_mode, eval_steps (steps of each curve point),
                  curve_unit (gradient_steps, or online_steps for an online agent), model_selection,
                  orders {ordering id: [task names in the order of the run]}
    versions      lifebot / MuJoCo / robosuite versions; code_revision: git commit (+ "-dirty") or "unknown"

``result.json`` (``schema: "lifebot.unit/1"``), with K tasks in the unit's order and E evaluation points::

    ordering, seed, order [K task names]
    b [K]        success of the untrained agent on every task (GEM's FWT baseline)
    R [K][K]     R[i][j]: success on task j after learning task i (tasks not yet learned included)
    c [K][E]     c[k][e]: success on task k at evaluation point e while learning it
    losses [K][] training loss of each task, averaged over windows (for plots)
    online_steps [K]  environment steps each task was learned with online (0 for offline agents)
    task_seconds [K]  wall time of learning and measuring each task
    seconds      wall time of the unit, versions

Every success is the fraction of ``protocol.episodes`` episodes started from the suite's fixed evaluation states
0..episodes-1 that reached the goal within the task's horizon.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lifebot.atomic import atomic_write_json
from lifebot.jsonio import loads_strict

RUN_SCHEMA = "lifebot.run/1"
UNIT_SCHEMA = "lifebot.unit/1"
RUN_FILE, PROGRESS_FILE, RESULT_FILE = "run.json", "progress.json", "result.json"


class ResultsError(ValueError):
    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path}: {problem}")


def code_revision() -> str:
    """The git commit of lifebot's source (with ``-dirty`` for uncommitted changes), or ``unknown``."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "lifebot").strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def write_json(path: Path, document: dict) -> None:
    atomic_write_json(path, document)


def read_json(path: Path, schema: str) -> dict:
    try:
        document = loads_strict(path.read_text())
    except OSError as exc:
        raise ResultsError(path, f"cannot be read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(path, f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(path, f"is not strict JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != schema:
        raise ResultsError(path, f"is not a {schema} file")
    return document


def unit_name(ordering: int, seed: int) -> str:
    return f"o{ordering}_s{seed}"


@dataclass
class UnitResult:
    """One (ordering, seed) unit: the raw matrices every metric is computed from."""

    ordering: int
    seed: int
    order: list[str]
    b: list[float] = field(default_factory=list)
    R: list[list[float]] = field(default_factory=list)
    c: list[list[float]] = field(default_factory=list)
    losses: list[list[float]] = field(default_factory=list)
    online_steps: list[int] = field(default_factory=list)
    task_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    versions: dict = field(default_factory=dict)

    @property
    def tasks_done(self) -> int:
        return len(self.R)

    @property
    def finished(self) -> bool:
        return len(self.R) == len(self.order)

    def matrices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.asarray(self.R, dtype=float), np.asarray(self.c, dtype=float), np.asarray(self.b, dtype=float)

    def to_json(self) -> dict:
        return {"schema": UNIT_SCHEMA, **asdict(self)}

    @classmethod
    def from_json(cls, document: dict, path: Path) -> UnitResult:
        fields = {k: v for k, v in document.items() if k != "schema"}
        try:
            unit = cls(**fields)
        except TypeError as exc:
            raise ResultsError(path, f"unexpected fields ({exc})") from None
        K = len(unit.order)
        if len(unit.b) not in (0, K) or any(len(row) != K for row in unit.R) or len(unit.R) > K:
            raise ResultsError(path, f"matrices do not match the {K} tasks of the order")
        return unit


@dataclass
class Run:
    """A run directory read back: its record (run.json) and its finished units."""

    root: Path
    record: dict
    units: list[UnitResult]

    @property
    def protocol(self) -> dict:
        return self.record["protocol"]

    @property
    def config(self) -> dict:
        return self.record["config"]

    def expected_units(self) -> list[tuple[int, int]]:
        return [(o, s) for o in self.config["orderings"] for s in self.config["seeds"]]


def unit_dir(root: Path, ordering: int, seed: int) -> Path:
    return root / "units" / unit_name(ordering, seed)


def load_unit(path: Path) -> UnitResult:
    return UnitResult.from_json(read_json(path, UNIT_SCHEMA), path)


def load_run(root: str | Path) -> Run:
    """The run at ``root`` with its finished units (in the order of run.json's orderings and seeds)."""
    root = Path(root)
    record = read_json(root / RUN_FILE, RUN_SCHEMA)
    run = Run(root, record, [])
    for ordering, seed in run.expected_units():
        path = unit_dir(root, ordering, seed) / RESULT_FILE
        if path.exists():
            run.units.append(load_unit(path))
    return run
