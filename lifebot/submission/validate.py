"""Checking a submission file (``lifebot submit validate``): bounded reading, the JSON Schema, then every claim.

A file is read as data only: at most :data:`MAX_BYTES`, nesting at most :data:`MAX_DEPTH` deep (checked before
parsing), strict JSON (no NaN or Infinity, no repeated keys). Then the published schema of its ``schema`` value
(:data:`SCHEMAS`), then what a schema cannot say: the suite and protocol are the official suite files', the run
config implies that protocol, the versions are well formed, the units are exactly the declared orderings × seeds
in the suite's orders, the matrices have the unit's shape, and every metric of the submission's metric set
recomputed from them equals its claim. Every problem names the file and the field.

A valid submission made under other simulator versions (MuJoCo, robosuite) than the suite's numbers were
generated with is not refused but flagged (:attr:`ValidSubmission.simulator_differences`): the leaderboard ranks
it apart, since physics that differs between versions moves success rates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
from jsonschema import Draft202012Validator, validators

from lifebot.envs.control import CONTROL_MODES
from lifebot.jsonio import parse_json, read_text
from lifebot.lifelong.config import MODEL_SELECTIONS, RunConfig, curve_length, curve_points
from lifebot.lifelong.metrics import METRIC_SETS
from lifebot.lifelong.results import unit_name
from lifebot.submission.make import SUBMISSION_SCHEMA, metric_claims
from lifebot.suites.store import Suite, SuiteError, load_suite

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 16
TOLERANCE = 1e-9  # claims are written with full float precision; anything further off was not computed here
MAX_PROBLEMS = 20
# One registry of published schemas: a document's ``schema`` value -> its JSON Schema in schema/.
SCHEMAS = {"lifebot.submission/1": "submission-1.json", SUBMISSION_SCHEMA: "submission-2.json"}
SIMULATOR = ("mujoco", "robosuite")
"""The versions under which numbers are comparable with the suite's: those its files were generated with."""
VERSION = re.compile(r"[0-9]+(\.[0-9]+)*([.+-]?[A-Za-z0-9]+)*")
# JSON Schema counts 1.0 as an integer; an index or a count written as a float is refused instead.
StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


@dataclass(frozen=True)
class Problem:
    field: str
    why: str

    def __str__(self) -> str:
        return f"{self.field}: {self.why}"


class SubmissionError(ValueError):
    def __init__(self, path: str | Path, problems: list[Problem]):
        self.problems = problems
        shown = "\n  ".join(str(p) for p in problems[:MAX_PROBLEMS])
        more = f"\n  ... and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        super().__init__(f"{path} is not a valid submission:\n  {shown}{more}")


@dataclass(frozen=True)
class ValidSubmission:
    """A submission that passed every check, with the bytes it was read from (their hash: its identity)."""

    path: Path
    document: dict
    suite: Suite
    raw: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def simulator_differences(self) -> tuple[tuple[str, str, str], ...]:
        """(package, the submission's version, the suite's) for each simulator package whose versions differ."""
        theirs, suites = self.document["versions"], {k: self.suite.versions.get(k, "unknown") for k in SIMULATOR}
        return tuple((k, theirs[k], suites[k]) for k in SIMULATOR if theirs[k] != suites[k])


def metric_set(document: dict) -> int:
    """The metric-set version a submission claims (version-1 files, which do not say, claim set 1)."""
    return document.get("metric_set", 1)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: object) -> str:
    return _clip(repr(value), 80)


def field_name(path) -> str:
    """``['units', 0, 'R', 1]`` -> ``units[0].R[1]`` (the document itself is ``(document)``)."""
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(document)"


def read_document(path: str | Path) -> tuple[dict, bytes]:
    """The JSON document at ``path`` and its bytes, read within the size and depth bounds."""
    path = Path(path)
    try:
        text = read_text(path, MAX_BYTES, "a submission")
        document = parse_json(text, MAX_DEPTH, "a submission")
        if not isinstance(document, dict):
            raise ValueError("holds a JSON " + type(document).__name__ + ", not an object")
        try:  # a lone surrogate escape (\ud800) parses, but no page or file could hold it
            json.dumps(document, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ValueError("holds text that is not valid Unicode (a lone surrogate escape)") from None
    except ValueError as exc:
        raise SubmissionError(path, [Problem("(file)", str(exc))]) from None
    return document, text.encode()


@cache
def json_schema(schema_id: str) -> dict:
    """The published JSON Schema of a submission format (shipped in lifebot/submission/schema/)."""
    return json.loads(files("lifebot.submission").joinpath("schema", SCHEMAS[schema_id]).read_text())


def schema_problems(document: dict) -> list[Problem]:
    schema_id = document.get("schema")
    if schema_id not in SCHEMAS:
        return [Problem("schema", f"is {_short(schema_id)}; this lifebot reads {', '.join(SCHEMAS)}")]
    validator = StrictValidator(json_schema(schema_id))
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return [Problem(field_name(e.absolute_path), _clip(e.message)) for e in errors]


def suite_problems(document: dict) -> tuple[Suite | None, list[Problem]]:
    """The suite and protocol against the official suite files (the suite is None when it is not one)."""
    name, version = document["suite"]["name"], document["suite"]["version"]
    try:
        suite = load_suite(name)
    except SuiteError as exc:
        return None, [Problem("suite.name", f"is not an official suite ({exc})")]
    problems = []
    if version != suite.version:
        problems.append(Problem("suite.version", f"is {version}; the official {name} suite is version {suite.version}"))
    protocol = document["protocol"]
    tasks = protocol["tasks"]
    if tasks != suite.task_names[: len(tasks)]:
        problems.append(
            Problem("protocol.tasks", f"are not the first {len(tasks)} tasks of suite {name}: {suite.task_names}")
        )
    for key, official in (
        ("horizons", lambda t: t.spec.horizon),
        ("init_state_sha256", lambda t: t.init_states_sha256),
    ):
        given = protocol[key]
        if sorted(given) != sorted(tasks):
            problems.append(Problem(f"protocol.{key}", f"names tasks {sorted(given)}; protocol.tasks are {tasks}"))
            continue
        for task in tasks:
            if task in suite.task_names and given[task] != official(suite.task(task)):
                problems.append(
                    Problem(
                        f"protocol.{key}.{task}",
                        f"is {_short(given[task])}; the suite files say {official(suite.task(task))}",
                    )
                )
    states = min(t.num_init_states for t in suite.tasks)
    if protocol["episodes"] > states:
        problems.append(Problem("protocol.episodes", f"is {protocol['episodes']}; the suite has {states} fixed states"))
    return suite, problems


def unit_problems(document: dict, suite: Suite) -> list[Problem]:
    """Units: the declared orderings × seeds once each, in the suite's orders, with matrices of the right shape."""
    problems = []
    tasks = document["protocol"]["tasks"]
    curve_points = len(document["protocol"]["eval_steps"])
    expected = {(o, s) for o in document["orderings"] for s in document["seeds"]}
    seen = set()
    for i, unit in enumerate(document["units"]):
        where, key = f"units[{i}]", (unit["ordering"], unit["seed"])
        if key in seen:
            problems.append(Problem(where, f"repeats ordering {key[0]}, seed {key[1]}"))
        elif key not in expected:
            problems.append(Problem(where, f"ordering {key[0]}, seed {key[1]} is not in orderings × seeds"))
        seen.add(key)
        if unit["ordering"] >= len(suite.orderings):
            problems.append(
                Problem(f"{where}.ordering", f"suite {suite.name} has orderings 0..{len(suite.orderings) - 1}")
            )
        else:
            order = [suite.task_names[t] for t in suite.orderings[unit["ordering"]] if suite.task_names[t] in tasks]
            if unit["order"] != order:
                problems.append(
                    Problem(
                        f"{where}.order",
                        f"is not ordering {unit['ordering']} of suite {suite.name} over protocol.tasks ({order})",
                    )
                )
        K = len(unit["order"])
        shapes = {
            "b": (len(unit["b"]) in (0, K), f"has {len(unit['b'])} entries, not {K} (one per task) or 0"),
            "R": (
                len(unit["R"]) == K and all(len(row) == K for row in unit["R"]),
                f"is not {K} × {K} ({len(unit['R'])} rows of {sorted({len(row) for row in unit['R']})} entries)",
            ),
            "c": (
                len(unit["c"]) == K and all(len(row) == curve_points for row in unit["c"]),
                f"is not {K} × {curve_points} (a curve point per protocol.eval_steps for each task)",
            ),
        }
        problems += [Problem(f"{where}.{name}", why) for name, (ok, why) in shapes.items() if not ok]
        problems += _count_problems(unit, where, document["protocol"]["episodes"])
        if not any(p.field.startswith(f"{where}.") for p in problems):
            problems += _selection_problems(unit, where, document["protocol"]["model_selection"])
    for ordering, seed in sorted(expected - seen):
        problems.append(Problem("units", f"lack ordering {ordering}, seed {seed} (declared by orderings × seeds)"))
    names = {unit_name(u["ordering"], u["seed"]) for u in document["units"]}
    for name in sorted(set(document.get("checkpoints", {})) - names):
        problems.append(Problem(f"checkpoints.{name}", "is not a unit of this submission"))
    return problems


def _count_problems(unit: dict, where: str, episodes: int) -> list[Problem]:
    """A success rate is successes / episodes: any other value was not measured under this protocol."""
    problems = []
    for name in ("b", "R", "c"):
        for i, row in enumerate(unit[name] if name != "b" else [unit["b"]]):
            counts = np.asarray(row, dtype=float) * episodes
            off = np.flatnonzero(np.abs(counts - np.round(counts)) > TOLERANCE * episodes)
            if off.size:
                index = f"[{off[0]}]" if name == "b" else f"[{i}][{off[0]}]"
                problems.append(
                    Problem(
                        f"{where}.{name}{index}",
                        f"is {row[off[0]]!r}, not a multiple of 1/{episodes} (protocol.episodes successes)",
                    )
                )
    return problems


def _selection_problems(unit: dict, where: str, rule: str) -> list[Problem]:
    """R[k][k] is what the model-selection rule picks from task k's curve: its last point, or (libero) its best."""
    problems = []
    for k, curve in enumerate(unit["c"]):
        picked = curve[-1] if rule == "last" else max(curve)
        if abs(unit["R"][k][k] - picked) > TOLERANCE:
            problems.append(
                Problem(
                    f"{where}.R[{k}][{k}]",
                    f"is {unit['R'][k][k]!r}; model_selection {rule!r} picks {picked!r} from c[{k}]",
                )
            )
    return problems


# The run-config fields the protocol depends on, with their JSON types (run.json writes tuples as lists).
RUN_CONFIG_TYPES = {
    "suite": str,
    "agent": str,
    "strategy": str,
    "orderings": list,
    "seeds": list,
    "tasks": int,
    "episodes": int,
    "steps_per_task": int,
    "online_steps": int,
    "eval_points": int,
    "control_mode": str,
    "model_selection": str,
}


# A run config written before a field existed was measured with the field's default.
RUN_CONFIG_DEFAULTS = {
    f.name: list(f.default) if isinstance(f.default, tuple) else f.default
    for f in dataclasses.fields(RunConfig)
    if f.default is not dataclasses.MISSING
}


def config_problems(document: dict, suite: Suite) -> list[Problem]:
    """The run config against what it implies: the suite, agent, strategy, units and every protocol field."""
    config, protocol = RUN_CONFIG_DEFAULTS | document["run_config"], document["protocol"]
    problems = [
        Problem(f"run_config.{key}", f"is {_short(config.get(key))}, not a JSON {kind.__name__}")
        for key, kind in RUN_CONFIG_TYPES.items()
        if not isinstance(config.get(key), kind) or isinstance(config.get(key), bool)
    ]
    for key, known in (("control_mode", CONTROL_MODES), ("model_selection", MODEL_SELECTIONS)):
        if protocol[key] not in known:
            problems.append(Problem(f"protocol.{key}", f"is {_short(protocol[key])}; one of {', '.join(known)}"))
    if problems:
        return problems
    curve_steps = curve_length(config["steps_per_task"], config["online_steps"])
    implied = {
        "suite": ("suite.name", document["suite"]["name"]),
        "agent": ("agent.name", document["agent"]["name"]),
        "strategy": ("strategy.name", document["strategy"]["name"]),
        "orderings": ("orderings", document["orderings"]),
        "seeds": ("seeds", document["seeds"]),
        "episodes": ("protocol.episodes", protocol["episodes"]),
        "control_mode": ("protocol.control_mode", protocol["control_mode"]),
        "model_selection": ("protocol.model_selection", protocol["model_selection"]),
        "tasks": ("the count of protocol.tasks", len(protocol["tasks"]) if config["tasks"] else 0),
    }
    problems = [
        Problem(f"run_config.{key}", f"is {_short(config[key])}, but {field} is {_short(value)}")
        for key, (field, value) in implied.items()
        if config[key] != value
    ]
    if config["tasks"] == 0 and len(protocol["tasks"]) != len(suite.tasks):
        problems.append(
            Problem(
                "run_config.tasks", f"is 0 (all {len(suite.tasks)}), but protocol.tasks has {len(protocol['tasks'])}"
            )
        )
    if 1 <= config["eval_points"] <= curve_steps:
        steps = curve_points(curve_steps, config["eval_points"])
        if steps != protocol["eval_steps"]:
            problems.append(
                Problem("protocol.eval_steps", f"is {_short(protocol['eval_steps'])}; run_config gives {steps}")
            )
    else:
        problems.append(Problem("run_config.eval_points", f"is {config['eval_points']}, not in 1..{curve_steps}"))
    if config["online_steps"] and protocol["model_selection"] != "last":
        problems.append(
            Problem("protocol.model_selection", "must be 'last' for an online agent (run_config.online_steps)")
        )
    return problems


def version_problems(document: dict) -> list[Problem]:
    """Versions are release numbers (a file made without the simulator installed was not measured with it)."""
    problems = [
        Problem(f"versions.{name}", f"is {_short(value)}, not a version number")
        for name, value in document["versions"].items()
        if not VERSION.fullmatch(value)
    ]
    if metric_set(document) not in METRIC_SETS:
        problems.append(
            Problem(
                "metric_set",
                f"is {metric_set(document)}; this lifebot knows metric sets {', '.join(map(str, METRIC_SETS))}",
            )
        )
    return problems


def claim_problems(document: dict) -> list[Problem]:
    """Every metric of the submission's set recomputed from the units against the claim: none missing, extra or changed.

    Only the set's metrics are recomputed, so a metric added to lifebot later leaves published submissions valid.
    """
    recomputed, claimed = metric_claims(document["units"], metric_set(document)), document["metrics"]
    problems = [
        Problem(
            f"metrics.{name}",
            f"is claimed, but the matrices do not give it (not in metric set {metric_set(document)}, "
            "or a baseline missing)",
        )
        for name in sorted(set(claimed) - set(recomputed))
    ]
    problems += [
        Problem(f"metrics.{name}", "is missing; a submission reports every metric its matrices give")
        for name in sorted(set(recomputed) - set(claimed))
    ]
    for name in sorted(set(claimed) & set(recomputed)):
        for key, value in recomputed[name].items():
            if abs(claimed[name][key] - value) > TOLERANCE:
                problems.append(
                    Problem(f"metrics.{name}.{key}", f"claims {claimed[name][key]!r}; the matrices give {value!r}")
                )
    return problems


def validate_document(document: dict, path: str | Path = "(submission)", raw: bytes = b"") -> ValidSubmission:
    """``document`` as a :class:`ValidSubmission`, or :class:`SubmissionError` listing every problem found."""
    problems = schema_problems(document)
    if problems:  # later checks rely on the structure the schema guarantees
        raise SubmissionError(path, problems)
    suite, problems = suite_problems(document)
    problems += version_problems(document)
    if suite is not None:
        problems += config_problems(document, suite) + unit_problems(document, suite)
    if not problems:  # metrics are recomputed only from matrices known to have their shapes
        problems += claim_problems(document)
    if problems:
        raise SubmissionError(path, problems)
    return ValidSubmission(Path(path), document, suite, raw)


def validate_file(path: str | Path) -> ValidSubmission:
    document, raw = read_document(path)
    return validate_document(document, path, raw)
