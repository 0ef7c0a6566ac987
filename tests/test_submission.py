"""Leaderboard submissions: made from runs, validated claim by claim, tampered with, re-measured, and published.

The tamper and schema tests use run directories written here by the run-directory contract (random matrices,
the real suite files and run record); the end-to-end tests use one real tiny lifelong run per module.
"""

from __future__ import annotations

import copy
import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from lifebot.cli.main import main
from lifebot.jsonio import nesting_depth
from lifebot.leaderboard.build import build_site
from lifebot.lifelong.metrics import run_metrics
from lifebot.lifelong.results import (
    RESULT_FILE,
    RUN_FILE,
    ResultsError,
    UnitResult,
    load_unit,
    unit_dir,
    write_json,
)
from lifebot.lifelong.runner import RunConfig, plan_run
from lifebot.submission.make import make_submission, metric_claims, write_submission
from lifebot.submission.validate import (
    MAX_BYTES,
    MAX_DEPTH,
    SubmissionError,
    json_schema,
    validate_document,
    validate_file,
)
from lifebot.suites.private import generate_private, secret_seed
from lifebot.suites.store import load_suite, suites_root

SUITE, TASKS, EPISODES = "goal", 3, 10


def fake_run(root: Path, seed: int = 0, strategy: str = "sequential", orderings=(0, 1), seeds=(0,)) -> Path:
    """A finished run directory with random success matrices (multiples of 1/episodes), no physics."""
    record = plan_run(
        RunConfig(suite=SUITE, strategy=strategy, tasks=TASKS, orderings=orderings, seeds=seeds, episodes=EPISODES)
    )
    write_json(root / RUN_FILE, record)
    rng = np.random.default_rng(seed)
    points = len(record["protocol"]["eval_steps"])

    def rates(*shape: int) -> list:
        return (rng.integers(0, EPISODES + 1, size=shape) / EPISODES).tolist()

    for ordering in orderings:
        for unit_seed in seeds:
            order = record["protocol"]["orders"][str(ordering)]
            R, c = rates(TASKS, TASKS), rates(TASKS, points)
            for k in range(TASKS):
                R[k][k] = c[k][-1]  # the "last" model-selection rule
            unit = UnitResult(ordering, unit_seed, order, b=rates(TASKS), R=R, c=c)
            write_json(unit_dir(root, ordering, unit_seed) / RESULT_FILE, unit.to_json())
    return root


@pytest.fixture
def document(tmp_path) -> dict:
    return make_submission(fake_run(tmp_path / "run"), "sequential BC", "plain fine-tuning")


def rejected(document: dict, tmp_path: Path) -> str:
    """The validation message of a document written to a file (it must be rejected)."""
    path = write_submission(document, tmp_path / "tampered.json")
    with pytest.raises(SubmissionError) as error:
        validate_file(path)
    assert str(path) in str(error.value)
    return str(error.value)


def test_a_made_submission_follows_the_published_schema_and_validates(document, tmp_path):
    jsonschema.validate(document, json_schema(document["schema"]))
    path = write_submission(document, tmp_path / "sub.json")
    valid = validate_file(path)
    assert valid.document == document and valid.suite.version == document["suite"]["version"]
    first = document["units"][0]
    claimed = run_metrics(np.array(first["R"]), np.array(first["c"]), np.array(first["b"]))
    assert set(document["metrics"]) == {name for name, value in claimed.items() if np.isfinite(value)}
    assert "cw_ft" not in document["metrics"]  # needs a reference run: left out, not claimed as NaN
    assert document["protocol"]["tasks"] == plan_run(RunConfig(suite=SUITE, tasks=TASKS))["protocol"]["tasks"]


def _swap_rows(d):
    R = d["units"][0]["R"]
    R[0], R[-1] = R[-1], R[0]


def _set(*path):
    *keys, value = path

    def edit(d):
        for key in keys[:-1]:
            d = d[key]
        d[keys[-1]] = value(d[keys[-1]]) if callable(value) else value

    return edit


TAMPERINGS = {
    "changed metric": (_set("metrics", "gem_acc", "mean", lambda v: v + 0.1), "metrics.gem_acc.mean: claims"),
    "changed CI": (_set("metrics", "forgetting", "ci_high", lambda v: v + 0.01), "metrics.forgetting.ci_high"),
    "swapped row": (_swap_rows, "model_selection 'last' picks"),
    "best point reported": (_set("units", 0, "R", 1, 1, 1.0), "units[0].R[1][1]: is 1.0; model_selection 'last'"),
    "wrong suite version": (_set("suite", "version", "0123456789abcdef"), "suite.version: is 0123456789abcdef"),
    "unknown suite": (_set("suite", "name", "nosuchsuite"), "suite.name: is not an official suite"),
    "rate above 1": (_set("units", 0, "R", 1, 2, 1.5), "units[0].R[1][2]: 1.5 is greater than the maximum of 1"),
    "negative rate": (_set("units", 1, "c", 0, 0, -0.1), "units[1].c[0][0]: -0.1 is less than the minimum of 0"),
    "missing row": (_set("units", 0, "R", lambda R: R[:-1]), "units[0].R: is not 3 × 3"),
    "short curve": (_set("units", 0, "c", 1, lambda c: c[:-1]), "units[0].c: is not 3 × 4"),
    "order not the suite's": (_set("units", 1, "order", lambda o: o[::-1]), "units[1].order: is not ordering 1"),
    "ordering outside the suite": (_set("units", 1, "ordering", 99), "units[1].ordering: suite goal has orderings"),
    "repeated unit": (_set("units", 1, "ordering", 0), "units[1]: repeats ordering 0, seed 0"),
    "missing unit": (_set("units", lambda u: u[:1]), "units: lack ordering 1, seed 0"),
    "horizon not the suite's": (
        _set("protocol", "horizons", "PutRedCubeOnPlate", 9),
        "protocol.horizons.PutRedCubeOnPlate: is 9;",
    ),
    "init states not the suite's": (
        _set("protocol", "init_state_sha256", "PutRedCubeOnPlate", "0" * 64),
        "protocol.init_state_sha256.PutRedCubeOnPlate: is '000",
    ),
    "more episodes than states": (_set("protocol", "episodes", 51), "protocol.episodes: is 51"),
    "tasks not the suite's first": (_set("protocol", "tasks", lambda t: t[::-1]), "protocol.tasks: are not the first"),
    "metric dropped": (_set("metrics", lambda m: {k: v for k, v in m.items() if k != "forgetting"}), "is missing"),
    "metric invented": (
        _set("metrics", "cw_ft", {"mean": 0.5, "std": 0.0, "ci_low": 0.5, "ci_high": 0.5, "n": 2}),
        "metrics.cw_ft: is claimed, but the matrices do not give it",
    ),
    "field missing": (lambda d: d.pop("code_revision"), "(document): 'code_revision' is a required property"),
    "field added": (_set("exploit", "x"), "Additional properties are not allowed ('exploit' was unexpected)"),
    "other schema": (_set("schema", "lifebot.submission/9"), "schema: is 'lifebot.submission/9'"),
    "other bootstrap": (_set("bootstrap", "resamples", 10), "bootstrap.resamples: 2000 was expected"),
    "checkpoint of no unit": (_set("checkpoints", {"o7_s0": "a" * 64}), "checkpoints.o7_s0: is not a unit"),
    "method name too long": (_set("method", "name", "x" * 101), "method.name: 'xxx"),
    "rate not a count": (
        _set("units", 0, "R", 1, 2, 0.55),
        "units[0].R[1][2]: is 0.55, not a multiple of 1/10 (protocol.episodes successes)",
    ),
    "baseline not a count": (_set("units", 1, "b", 0, 1 / 3), "units[1].b[0]: is 0.333"),
    "float index": (_set("units", 1, "ordering", 1.0), "units[1].ordering: 1.0 is not of type 'integer'"),
    "config episodes not the protocol's": (
        _set("run_config", "episodes", 5),
        "run_config.episodes: is 5, but protocol.episodes is 10",
    ),
    "config control mode not the protocol's": (
        _set("run_config", "control_mode", "osc_pose"),
        "run_config.control_mode: is 'osc_pose', but protocol.control_mode is 'pd_ee_delta_pose'",
    ),
    "config tasks not the protocol's": (
        _set("run_config", "tasks", 2),
        "run_config.tasks: is 2, but the count of protocol.tasks is 3",
    ),
    "config strategy not the submission's": (
        _set("run_config", "strategy", "er"),
        "run_config.strategy: is 'er', but strategy.name is 'sequential'",
    ),
    "config seeds not the units'": (_set("run_config", "seeds", [0, 1]), "run_config.seeds: is [0, 1], but seeds"),
    "config steps not the curve's": (
        _set("run_config", "steps_per_task", 1000),
        "protocol.eval_steps: is [750, 1500, 2250, 3000]; run_config gives [250, 500, 750, 1000]",
    ),
    "config without its suite": (lambda d: d["run_config"].pop("suite"), "run_config.suite: is None, not a JSON str"),
    "config field missing": (  # an older run config: the field's default, here not the protocol's
        lambda d: d["run_config"].pop("episodes"),
        "run_config.episodes: is 20, but protocol.episodes is 10",
    ),
    "config field of another type": (_set("run_config", "tasks", True), "run_config.tasks: is True, not a JSON int"),
    "unknown control mode": (
        _set("protocol", "control_mode", "joint_velocity"),
        "protocol.control_mode: is 'joint_velocity'; one of osc_pose, pd_ee_delta_pose",
    ),
    "unknown model selection": (
        _set("protocol", "model_selection", "oracle"),
        "protocol.model_selection: is 'oracle'; one of last, libero",
    ),
    "simulator not installed": (
        _set("versions", "mujoco", "not installed"),
        "versions.mujoco: is 'not installed', not a version number",
    ),
    "unknown metric set": (_set("metric_set", 99), "metric_set: is 99; this lifebot knows metric sets 1"),
}


@pytest.mark.parametrize("tampering", TAMPERINGS, ids=list(TAMPERINGS))
def test_tampered_submissions_are_rejected_naming_the_field(document, tmp_path, tampering):
    edit, expected = TAMPERINGS[tampering]
    tampered = copy.deepcopy(document)
    edit(tampered)
    message = rejected(tampered, tmp_path)
    assert expected in message, message


def test_other_simulator_versions_validate_but_rank_apart_on_the_page(tmp_path):
    folder = tmp_path / "submissions"
    same = make_submission(fake_run(tmp_path / "a", seed=1), "same physics")
    other = make_submission(fake_run(tmp_path / "b", seed=2), "older physics")
    other["versions"]["mujoco"] = "3.2.0"
    write_submission(same, folder / "same.json")
    flagged = validate_file(write_submission(other, folder / "other.json"))
    assert flagged.simulator_differences == (("mujoco", "3.2.0", flagged.suite.versions["mujoco"]),)
    site = build_site(folder, tmp_path / "site")
    assert not site.rejected and len({entry.table for entry in site.entries}) == 2
    index = site.index.read_text()
    main_table, apart_table = index.split("<section")[1:]
    assert "same physics" in main_table and "older physics" not in main_table
    assert "ranked apart" in apart_table and "Ranked apart: made under mujoco 3.2.0" in apart_table
    assert "1 submission(s) ran under other simulator versions" in index
    [entry] = [e for e in site.entries if e.submission.simulator_differences]
    assert (
        "Ranked apart: made under mujoco 3.2.0" in (site.index.parent / "submissions" / f"{entry.id}.html").read_text()
    )


def test_a_version_1_submission_still_validates_as_metric_set_1(document):
    old = {k: v for k, v in document.items() if k != "metric_set"} | {"schema": "lifebot.submission/1"}
    old["run_config"] = {k: v for k, v in old["run_config"].items() if k != "online_steps"}  # before online agents
    validate_document(old)
    with pytest.raises(SubmissionError, match=r"Additional properties are not allowed \('metric_set'"):
        validate_document(old | {"metric_set": 1})


def test_adding_a_metric_leaves_published_submissions_valid(document, monkeypatch):
    from lifebot.lifelong import metrics

    monkeypatch.setitem(metrics.METRICS, "final_task", lambda R, c, b, c_ref: float(R[-1, -1]))
    monkeypatch.setitem(metrics.METRIC_SETS, 2, (*metrics.METRIC_SETS[1], "final_task"))
    validate_document(document)  # metric set 1: the new metric is neither recomputed nor expected
    newer = copy.deepcopy(document) | {"metric_set": 2}
    with pytest.raises(SubmissionError, match="metrics.final_task: is missing"):
        validate_document(newer)
    newer["metrics"] = metric_claims(newer["units"], 2)
    validate_document(newer)
    with pytest.raises(SubmissionError, match=r"metrics.final_task: is claimed, but .*\(not in metric set 1"):
        validate_document(newer | {"metric_set": 1})


def test_an_unfinished_run_makes_no_submission(tmp_path):
    run = fake_run(tmp_path / "run")
    (unit_dir(run, 1, 0) / RESULT_FILE).unlink()
    with pytest.raises(ValueError, match="units o1_s0 have not finished"):
        make_submission(run, "half a run")


def test_a_submission_from_nan_poisoned_results_is_refused(tmp_path):
    run = fake_run(tmp_path / "run")
    unit = load_unit(unit_dir(run, 1, 0) / RESULT_FILE)
    unit.R[1][2] = float("nan")
    with pytest.raises(ValueError, match=r"result.json: refusing to write the non-finite number at R.1.2"):
        write_json(unit_dir(run, 1, 0) / RESULT_FILE, unit.to_json())
    result = unit_dir(run, 1, 0) / RESULT_FILE
    result.write_text(result.read_text().replace('"R": [\n  [\n   ', '"R": [\n  [\n   NaN, ', 1))
    with pytest.raises(ResultsError, match=r"result.json: is not strict JSON \(NaN is not a JSON number\)"):
        make_submission(run, "poisoned")
    assert main(["submit", "make", str(run), "--method", "poisoned"]) == 2
    assert not (run / "submission.json").exists()


def test_validation_runs_where_torch_cannot_be_imported(document, tmp_path):
    path = write_submission(document, tmp_path / "sub.json")
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ImportError(name + ' is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from lifebot.submission.validate import validate_file\n"
        f"print(validate_file({str(path)!r}).suite.name, 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [SUITE, "False"]


def test_consistent_but_different_matrices_are_accepted(document):
    """Claims are a function of the matrices: change both together and the file is valid (verify catches it)."""
    document["units"][0]["R"][-1] = [1.0] * TASKS
    document["units"][0]["c"][-1][-1] = 1.0
    document["metrics"] = metric_claims(document["units"])
    validate_document(document)


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "huge.json"
    path.write_bytes(b'{"schema": "' + b"a" * MAX_BYTES + b'"}')
    with pytest.raises(
        SubmissionError, match=r"huge.json is not a valid submission:\n  \(file\): is larger than 4 MiB"
    ):
        validate_file(path)


def test_deep_nesting_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(SubmissionError, match=f"nests 200000 levels deep; a submission nests at most {MAX_DEPTH}"):
        validate_file(path)
    assert nesting_depth('{"a": "[[[[[[[[[[[[[[[[[[[[[[[\\"[["}') == 1  # brackets inside strings do not nest


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"schema": NaN}', "NaN is not a JSON number"),
        ('{"schema": 1e999}', "'1e999' is too large for a number"),
        ('{"schema": 1, "schema": 2}', "key 'schema' appears twice"),
        ('{"schema": ', "is not valid JSON (Expecting value at line 1"),
        ("[1, 2]", "holds a JSON list, not an object"),
        ('{"schema": "\\ud800"}', "not valid Unicode (a lone surrogate escape)"),
    ],
)
def test_only_strict_json_objects_are_read(tmp_path, text, expected):
    path = tmp_path / "odd.json"
    path.write_text(text)
    with pytest.raises(SubmissionError, match=r"odd.json is not a valid submission") as error:
        validate_file(path)
    assert expected in str(error.value)


def test_the_leaderboard_shows_only_valid_submissions_with_names_escaped(tmp_path):
    folder = tmp_path / "submissions"
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    seq = make_submission(fake_run(tmp_path / "a", seed=1), evil, "</p><script>alert(2)</script>")
    er = make_submission(fake_run(tmp_path / "b", seed=2, strategy="er"), "replay", "experience replay")
    forged = copy.deepcopy(er)
    forged["method"]["name"] = "forged"
    forged["metrics"]["gem_acc"]["mean"] = 1.0
    for name, document in (("seq", seq), ("er", er), ("forged", forged)):
        write_submission(document, folder / f"{name}.json")
    site = build_site(folder, tmp_path / "site")
    assert {e.document["method"]["name"] for e in site.entries} == {evil, "replay"}
    assert len(site.rejected) == 1 and "forged.json" in str(site.rejected[0])
    index = site.index.read_text()
    assert "forged" not in index and "<script>alert" not in index and "<img src=x" not in index
    assert html.escape(evil) in index
    pages = site.index.parent / "submissions"
    [entry] = [e for e in site.entries if e.document["method"]["name"] == evil]
    page = (pages / f"{entry.id}.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(2)" in page
    assert (pages / f"{entry.id}-R.png").stat().st_size > 1000 and (pages / f"{entry.id}-c.png").is_file()
    assert (pages / f"{entry.id}.json").read_bytes() == (folder / "seq.json").read_bytes()  # byte for byte


# --- one real tiny lifelong run: make, validate and verify through the command line ---------------------------


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    from lifebot.lifelong.executors import ExecutionConfig, execute_run

    root = tmp_path_factory.mktemp("real")
    config = RunConfig(
        suite=SUITE, tasks=2, demos_per_task=2, steps_per_task=20, eval_points=2, episodes=2, demos_dir=str(root / "d")
    )
    execute_run(config, root / "run", ExecutionConfig(workers=1))
    return root / "run"


@pytest.fixture(scope="module")
def real_submission(real_run) -> Path:
    assert main(["submit", "make", str(real_run), "--method", "tiny sequential BC"]) == 0
    return real_run / "submission.json"


def test_a_real_run_makes_a_valid_submission(real_submission, capsys):
    document = json.loads(real_submission.read_text())
    assert document["units"][0]["order"] == ["PutBlueCubeInBasket", "StackRedCubeOnBlueCube"]
    assert set(document["checkpoints"]) == {"o0_s0"}
    assert main(["submit", "validate", str(real_submission)]) == 0
    assert "valid, every metric recomputed" in capsys.readouterr().out


def test_validate_command_names_the_file_and_field(real_submission, tmp_path, capsys):
    document = json.loads(real_submission.read_text())
    document["suite"]["version"] = "f" * 16
    path = write_submission(document, tmp_path / "wrong.json")
    assert main(["submit", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"lifebot submit: error: {path} is not a valid submission" in err and "suite.version: is ffff" in err


def test_verify_re_measures_the_final_row(real_run, real_submission, capsys):
    assert main(["submit", "verify", str(real_submission), "--checkpoints", str(real_run), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("  agrees\n") == 2 and "agrees with the claimed R" in out


def test_verify_rejects_other_weights_and_other_claims(real_run, real_submission, tmp_path, capsys):
    copied = tmp_path / "copy"
    shutil.copytree(real_run / "units", copied / "units")
    checkpoints = copied / "units" / "o0_s0" / "checkpoints"
    shutil.copy(checkpoints / "task_0.pt", checkpoints / "task_1.pt")  # not the agent the submission hashed
    assert main(["submit", "verify", str(real_submission), "--checkpoints", str(copied)]) == 1
    assert "is not the checkpoint the submission hashed (checkpoints.o0_s0)" in capsys.readouterr().out

    document = json.loads(real_submission.read_text())
    final = document["units"][0]["R"][-1]
    document["units"][0]["R"][-1] = [1.0 if value < 0.5 else 0.0 for value in final]  # consistent, other claims
    document["units"][0]["c"][-1][-1] = document["units"][0]["R"][-1][-1]  # the curve ends where R says
    document["metrics"] = metric_claims(document["units"])
    path = write_submission(document, tmp_path / "claims.json")
    assert main(["submit", "verify", str(path), "--checkpoints", str(real_run), "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "DISAGREES" in out and "does NOT agree" in out


def test_verify_re_measures_packnet_rows_with_each_tasks_own_weights(tmp_path, capsys):
    """PackNet evaluates task j with the weights of tasks 0..j only: verify restores its masks to do the same."""
    from lifebot.agents.registry import load_agent
    from lifebot.lifelong.executors import ExecutionConfig, execute_run
    from lifebot.lifelong.runner import restore_strategy, strategy_file
    from lifebot.submission.make import final_checkpoint

    config = RunConfig(
        suite=SUITE,
        tasks=2,
        demos_per_task=2,
        steps_per_task=20,
        eval_points=2,
        episodes=2,
        demos_dir=str(tmp_path / "d"),
        strategy="packnet",
        strategy_options=("retrain_steps=5",),
    )
    run = execute_run(config, tmp_path / "run", ExecutionConfig(workers=1)).root
    assert main(["submit", "make", str(run), "--method", "tiny packnet"]) == 0
    submission = run / "submission.json"
    document = json.loads(submission.read_text())
    unit = unit_dir(run, 0, 0)
    agent = load_agent(final_checkpoint(run, 0, 0, 2))
    packnet = restore_strategy(
        "packnet", document["strategy"]["config"], lambda: agent, strategy_file(unit, 1), 0, "test"
    )
    first, last = packnet.policy_for(0), packnet.policy_for(1)
    assert last is agent and first is not agent
    full = agent.policy.state_dict()
    changed = [name for name, mine in first.policy.state_dict().items() if not mine.equal(full[name])]
    assert changed, "the first task's policy acts with all the weights"
    capsys.readouterr()
    verify = ["submit", "verify", str(submission), "--checkpoints", str(run), "--workers", "1"]
    assert main(verify) == 0 and capsys.readouterr().out.count("  agrees\n") == 2
    strategy_file(unit, 1).unlink()
    assert main(verify) == 1
    assert "no strategy state" in capsys.readouterr().out


def test_leaderboard_command_builds_the_site(real_submission, tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    shutil.copy(real_submission, folder / "tiny.json")
    (folder / "broken.json").write_text("{")
    assert main(["leaderboard", "build", str(folder), "-o", str(tmp_path / "site")]) == 0
    captured = capsys.readouterr()
    assert "1 submission(s) in 1 table(s), 1 left out" in captured.out and "broken.json" in captured.err
    assert "tiny sequential BC" in (tmp_path / "site" / "index.html").read_text()


def test_verify_reports_public_and_private_success_per_task(real_run, real_submission, tmp_path, capsys):
    secret = tmp_path / "SECRET"
    secret.write_bytes(bytes(range(32)))
    private = tmp_path / "private"
    command = ["suites", "private", SUITE, "--seed-file", str(secret), "--num-init-states", "2", "--tasks", "2"]
    assert main([*command, "--out", str(private)]) == 0
    held_out, public = load_suite(SUITE, private), load_suite(SUITE)
    task = held_out.task_names[0]
    assert held_out.task_names == public.task_names[:2] and held_out.task(task).num_init_states == 2
    assert not np.array_equal(held_out.init_states(task), public.init_states(task)[:2])
    capsys.readouterr()
    verify = ["submit", "verify", str(real_submission), "--checkpoints", str(real_run), "--workers", "1"]
    assert main([*verify, "--private", str(private)]) == 0
    out = capsys.readouterr().out
    assert out.count("  private ") == 2 and "mean success per task: public states" in out, out


def test_private_states_need_a_real_secret_and_their_own_folder(tmp_path, capsys):
    weak = tmp_path / "weak"
    weak.write_bytes(b"0")
    assert main(["suites", "private", SUITE, "--seed-file", str(weak), "--out", str(tmp_path / "p")]) == 2
    assert "holds at least 16 bytes, this one 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="private states go outside the public suites folder"):
        generate_private(SUITE, bytes(32), suites_root() / "private")
    assert secret_seed(b"a" * 16, "t", 0) == secret_seed(b"a" * 16, "t", 0) != secret_seed(b"b" * 16, "t", 0)


def test_private_states_of_other_tasks_are_refused(tmp_path):
    from lifebot.spec.io import spec_from_dict
    from lifebot.submission.verify import held_out
    from lifebot.suites.store import write_suite

    public = load_suite(SUITE)
    task = public.tasks[0]
    other = spec_from_dict(task.spec.to_dict() | {"horizon": task.spec.horizon + 1})  # same name, another task
    states = {task.name: public.init_states(task.name)[:2]}
    write_suite(tmp_path, SUITE, public.family, public.seed, [other], states, [[0]], public.versions)
    with pytest.raises(ValueError, match=f"task {task.name} is not the one of suite {SUITE} \\(its spec differs\\)"):
        held_out(tmp_path, public, [task.name])
