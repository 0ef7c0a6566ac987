"""The lifelong runner on real environments and demonstrations: matrices, report, restart, kill and resume, Ray."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

from lifebot.agents.idm import IDMAgent, IDMConfig
from lifebot.agents.registry import load_agent
from lifebot.atomic import DiskFull
from lifebot.demos.dataset import DemoDataset
from lifebot.demos.format import DemoFileError
from lifebot.envs.observations import STATE_SHAPES
from lifebot.lifelong.executors import ExecutionConfig, execute_run
from lifebot.lifelong.report import metric_table, write_report
from lifebot.lifelong.results import PROGRESS_FILE, RESULT_FILE, ResultsError, load_run, unit_dir, write_json
from lifebot.lifelong.runner import RunConfig, TrainingDiverged, plan_run
from lifebot.lifelong.strategies import STRATEGIES
from lifebot.submission.make import make_submission
from lifebot.suites.store import load_suite

IN_PROCESS = ExecutionConfig(workers=1)
SPATIAL_TASK = load_suite("spatial").task_names[0]


def tiny_config(demos_dir: Path, **changes) -> RunConfig:
    base = RunConfig(
        suite="spatial",
        tasks=2,
        orderings=(0, 4),
        seeds=(0,),
        demos_per_task=2,
        steps_per_task=30,
        eval_points=2,
        episodes=1,
        demos_dir=str(demos_dir),
    )
    return replace(base, **changes)


@pytest.fixture(scope="module")
def demos_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demos")


@pytest.fixture(scope="module")
def er_run(demos_dir, tmp_path_factory):
    config = tiny_config(demos_dir, strategy="er")
    root = tmp_path_factory.mktemp("runs") / "er"
    return config, execute_run(config, root, IN_PROCESS)


def test_run_writes_every_matrix_in_the_order_of_each_ordering(er_run):
    config, run = er_run
    assert [(u.ordering, u.seed) for u in run.units] == [(0, 0), (4, 0)]
    suite_order = run.protocol["tasks"]
    assert run.units[0].order == suite_order and run.units[1].order == suite_order[::-1]
    for unit in run.units:
        R, c, b = unit.matrices()
        assert R.shape == (2, 2) and c.shape == (2, 2) and b.shape == (2,)
        assert np.all((R >= 0) & (R <= 1))
        assert [R[k, k] for k in range(2)] == [c[k, -1] for k in range(2)]  # model selection "last"
        assert len(unit.losses) == 2 and all(np.isfinite(unit.losses[0]))
        assert unit.versions["mujoco"] == "3.3.7"
    protocol = run.protocol
    assert protocol["episodes"] == 1 and protocol["eval_steps"] == [15, 30]
    assert set(protocol["horizons"]) == set(suite_order) and len(protocol["init_state_sha256"]) == 2
    assert run.record["code_revision"] and run.record["agent_config"]["hidden"] == [256, 256]


def test_every_task_leaves_a_checkpoint_that_loads_and_acts(er_run):
    _, run = er_run
    for k in range(2):
        agent = load_agent(unit_dir(run.root, 4, 0) / "checkpoints" / f"task_{k}.pt")
        assert agent.config.seed == 0 and agent.gradient_steps == 30 * (k + 1)
    observation = {key: np.zeros(shape, np.float32) for key, shape in STATE_SHAPES.items()}
    assert agent.predict(observation).shape == (7,)


def test_report_writes_plots_summary_and_metrics(er_run):
    _, run = er_run
    table, out = write_report(run)
    assert {p.name for p in out.iterdir()} >= {
        "success_matrix_o0.png",
        "success_matrix_o4.png",
        "learning_curves.png",
        "metrics.png",
        "summary.md",
        "metrics.json",
    }
    assert set(table.per_ordering) == {0, 4} and table.overall["libero_auc"].n == 2
    assert "AUC (LIBERO)" in (out / "summary.md").read_text()
    assert json.loads((out / "metrics.json").read_text())["overall"]["gem_acc"]["n"] == 2


def test_a_restart_with_another_config_is_refused(er_run, demos_dir):
    config, run = er_run
    with pytest.raises(ResultsError, match=r"run.json: holds another run \(config.strategy"):
        execute_run(replace(config, strategy="sequential"), run.root, IN_PROCESS)


def test_a_finished_run_started_again_redoes_nothing(er_run):
    config, run = er_run
    stamps = {u: (unit_dir(run.root, *u) / RESULT_FILE).stat().st_mtime_ns for u in [(0, 0), (4, 0)]}
    again = execute_run(config, run.root, IN_PROCESS)
    assert [u.R for u in again.units] == [u.R for u in run.units]
    assert stamps == {u: (unit_dir(run.root, *u) / RESULT_FILE).stat().st_mtime_ns for u in stamps}


def test_unknown_names_and_bad_numbers_are_refused(demos_dir):
    with pytest.raises(ValueError, match="strategy: must be one of"):
        tiny_config(demos_dir, strategy="forgetful")
    with pytest.raises(KeyError, match="unknown agent"):
        tiny_config(demos_dir, agent="oracle")
    with pytest.raises(ValueError, match="orderings 0..4, asked for 7"):
        execute_run(tiny_config(demos_dir, orderings=(7,)), demos_dir / "bad", IN_PROCESS)


def test_nan_demonstrations_stop_a_run_before_training(er_run, demos_dir, tmp_path):
    poisoned = tmp_path / "demos"
    shutil.copytree(demos_dir, poisoned)
    path = poisoned / "spatial" / f"{er_run[1].protocol['tasks'][1]}.hdf5"
    with h5py.File(path, "a") as f:
        f["data/demo_1/actions"][3, 2] = np.nan
    root = tmp_path / "nan"
    with pytest.raises(DemoFileError, match=f"{path}: data/demo_1/actions holds a non-finite value"):
        execute_run(tiny_config(poisoned), root, IN_PROCESS)
    assert not list(root.rglob("*.pt")) and not list(root.rglob(PROGRESS_FILE))  # nothing trained, nothing kept


def test_diverging_training_stops_with_a_clear_error(er_run, demos_dir, tmp_path):
    agent_config = tmp_path / "explode.yaml"
    agent_config.write_text("head: deterministic\nlearning_rate: 1.0e+30\n")
    config = tiny_config(demos_dir, agent_config=str(agent_config), orderings=(0,))
    with pytest.raises(TrainingDiverged, match=r"unit o0_s0, task \w+.*became non-finite \(NaN or inf\)"):
        execute_run(config, tmp_path / "diverged", IN_PROCESS)
    assert not list((tmp_path / "diverged").rglob("*.pt"))


def test_a_second_writer_on_one_run_directory_is_refused_naming_the_holder(demos_dir, tmp_path):
    root = tmp_path / "locked"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from lifebot.lifelong.runner import lock_run\nfrom pathlib import Path\nimport time\n"
            f"with lock_run(Path({str(root)!r})):\n    print('locked', flush=True)\n    time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ResultsError, match=f"locked: is being written by pid {holder.pid} on "):
            execute_run(tiny_config(demos_dir), root, IN_PROCESS)
        assert not (root / "run.json").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_full_disk_ends_with_one_message_naming_the_file(tmp_path, monkeypatch):
    def full(self, data):
        Path.write_text(self, "half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    target = tmp_path / "units" / "o0_s0" / PROGRESS_FILE
    with pytest.raises(DiskFull, match=f"{target}: no space left on device; nothing was written"):
        write_json(target, {"schema": "x"})
    assert list(target.parent.iterdir()) == []  # the temporary file is gone too


def run_command(config: RunConfig, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lifebot.cli.main",
        "run",
        f"--suite={config.suite}",
        f"--strategy={config.strategy}",
        *(["--strategy-options", *config.strategy_options] if config.strategy_options else []),
        f"--orderings={','.join(map(str, config.orderings))}",
        f"--seeds={','.join(map(str, config.seeds))}",
        f"--tasks={config.tasks}",
        f"--demos={config.demos_per_task}",
        f"--steps={config.steps_per_task}",
        f"--agent={config.agent}",
        f"--agent-config={config.agent_config}",
        f"--online-steps={config.online_steps}",
        f"--eval-points={config.eval_points}",
        f"--episodes={config.episodes}",
        f"--demos-dir={config.demos_dir}",
        "--workers=1",
        f"--out={out}",
    ]


def kill_after_first_task(config: RunConfig, out: Path, delay: float = 0.0) -> Path:
    """Start ``lifebot run`` for the config's one unit, SIGKILL it ``delay`` s after its first task's commit."""
    progress = unit_dir(out, config.orderings[0], config.seeds[0]) / PROGRESS_FILE
    process = subprocess.Popen(run_command(config, out), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (progress.exists() and len(json.loads(progress.read_text())["R"]) == 1):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first task"
        time.sleep(0.05)
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return progress


def kill_after_the_first_task_and_resume(config: RunConfig, out: Path):
    """``lifebot run`` killed (SIGKILL) once its first task is committed, then the same command to the end."""
    kill_after_first_task(config, out)
    first_checkpoint = unit_dir(out, config.orderings[0], config.seeds[0]) / "checkpoints" / "task_0.pt"
    stamp = first_checkpoint.stat().st_mtime_ns

    subprocess.run(run_command(config, out), check=True, capture_output=True)
    assert first_checkpoint.stat().st_mtime_ns == stamp  # task 0 was not learned again
    return load_run(out).units[0]


def test_a_killed_run_resumes_after_its_last_task_and_matches_an_uninterrupted_one(er_run, demos_dir, tmp_path):
    config, uninterrupted = er_run
    resumed = kill_after_the_first_task_and_resume(replace(config, orderings=(4,)), tmp_path / "killed")
    reference = next(u for u in uninterrupted.units if u.ordering == 4)
    for matrix in ("b", "R", "c", "losses"):
        assert getattr(resumed, matrix) == getattr(reference, matrix), matrix


@pytest.mark.slow
@pytest.mark.parametrize(
    ("strategy", "options"),
    [("packnet", ("retrain_steps=10", "prune_fraction=0.5")), ("agem", ("memory_per_task=40", "memory_batch=16"))],
)
def test_gradient_strategies_run_through_lifebot_run_and_resume_identically_after_a_kill(
    strategy, options, demos_dir, tmp_path
):
    config = tiny_config(demos_dir, strategy=strategy, strategy_options=options, orderings=(4,))
    uninterrupted = execute_run(config, tmp_path / "whole", IN_PROCESS).units[0]
    resumed = kill_after_the_first_task_and_resume(config, tmp_path / "killed")
    assert resumed.finished
    for matrix in ("b", "R", "c", "losses"):
        assert getattr(resumed, matrix) == getattr(uninterrupted, matrix), matrix
    recorded = load_run(tmp_path / "killed").record["strategy_config"]
    assert recorded == {
        **dataclasses.asdict(STRATEGIES[strategy].config_class()),
        **{key: yaml.safe_load(value) for key, value in (option.split("=") for option in options)},
    }
    assert make_submission(tmp_path / "killed", strategy)["strategy"] == {"name": strategy, "config": recorded}


def test_a_strategy_config_file_is_read_and_a_bad_one_refused(demos_dir, tmp_path):
    path = tmp_path / "ewc.yaml"
    path.write_text("ewc_lambda: 30\n")
    record = plan_run(tiny_config(demos_dir, strategy="ewc", strategy_config=str(path)))
    assert record["strategy_config"] == {"ewc_lambda": 30.0, "fisher_batches": 20, "batch_size": 256}
    path.write_text("ewc_lamda: 30\n")
    with pytest.raises(ValueError, match=r"ewc.yaml: ewc_lamda: unknown field"):
        tiny_config(demos_dir, strategy="ewc", strategy_config=str(path))


def test_units_run_as_ray_tasks_on_a_local_ray_instance_with_the_same_results(er_run, tmp_path):
    pytest.importorskip("ray")
    config, local = er_run
    run = execute_run(config, tmp_path / "ray", ExecutionConfig(executor="ray", workers=1))
    assert [(u.ordering, u.seed) for u in run.units] == [(0, 0), (4, 0)]
    assert [(u.R, u.c, u.losses) for u in run.units] == [(u.R, u.c, u.losses) for u in local.units]
    assert metric_table(run).overall.keys() == metric_table(local).overall.keys()


def test_an_idm_run_starts_every_unit_from_the_pretrained_encoder_and_keeps_it_frozen(er_run, demos_dir, tmp_path):
    config, run = er_run
    with pytest.raises(ValueError, match="agent idm needs init_checkpoint"):
        replace(config, agent="idm")
    pool = DemoDataset(sorted((demos_dir / "spatial").glob("*.hdf5")))
    pretrained = IDMAgent(IDMConfig(idm_steps=20, device="cpu"), pool.obs_dim, pool.normalizer, config.control_mode)
    pretrained.pretrain(pool)
    checkpoint = pretrained.save(tmp_path / "idm.pt")
    idm_config = replace(config, agent="idm", init_checkpoint=str(checkpoint), orderings=(0,))
    unit = execute_run(idm_config, tmp_path / "idm", IN_PROCESS).units[0]
    assert unit.finished and load_run(tmp_path / "idm").protocol["init_checkpoint_sha256"]
    final = load_agent(unit_dir(tmp_path / "idm", 0, 0) / "checkpoints" / "task_1.pt")
    for name, weight in pretrained.policy.trunk.state_dict().items():
        assert torch.equal(final.policy.trunk.state_dict()[name], weight), name
    head = pretrained.policy.head.state_dict()
    assert not all(torch.equal(final.policy.head.state_dict()[name], weight) for name, weight in head.items())


@pytest.mark.parametrize(  # ~10 s each: single_task (which crashed) stays in the default run, the rest are slow
    "strategy", [name if name == "single_task" else pytest.param(name, marks=pytest.mark.slow) for name in STRATEGIES]
)
def test_every_registered_strategy_completes_a_tiny_run(strategy, demos_dir, tmp_path):
    config = tiny_config(demos_dir, strategy=strategy, orderings=(0,), steps_per_task=10, eval_points=1)
    unit = execute_run(config, tmp_path / strategy, IN_PROCESS).units[0]
    R, c, _ = unit.matrices()
    assert unit.finished and R.shape == (2, 2) and c.shape == (2, 1)
    last = load_agent(unit_dir(tmp_path / strategy, 0, 0) / "checkpoints" / "task_1.pt")
    assert last.gradient_steps == (10 if strategy == "single_task" else 20)  # single_task restarts every task


TINY_WSRL = """n_critics: 2
net_arch: [32, 32]
batch_size: 16
utd: 2
pretrain_batch_size: 16
cql_actions: 2
warmup_steps: 4
buffer_size: 1000
device: cpu
"""


def wsrl_config(demos_dir: Path, tmp: Path, **changes) -> RunConfig:
    (tmp / "wsrl_tiny.yaml").write_text(TINY_WSRL)
    online = dict(agent="wsrl", agent_config=str(tmp / "wsrl_tiny.yaml"), steps_per_task=5, online_steps=16)
    return tiny_config(demos_dir, orderings=(4,), **{**online, **changes})


@pytest.fixture(scope="module")
def wsrl_run(demos_dir, tmp_path_factory):
    config = wsrl_config(demos_dir, tmp_path_factory.mktemp("wsrl_config"))
    return config, execute_run(config, tmp_path_factory.mktemp("runs") / "wsrl", IN_PROCESS)


def test_a_wsrl_run_learns_each_task_offline_then_online_and_measures_the_curve_in_online_steps(wsrl_run):
    config, run = wsrl_run
    unit = run.units[0]
    R, c, _ = unit.matrices()
    assert unit.finished and R.shape == (2, 2) and c.shape == (2, 2)
    assert run.protocol["curve_unit"] == "online_steps" and run.protocol["eval_steps"] == [8, 16]
    assert unit.online_steps == [16, 16] and len(unit.task_seconds) == 2
    assert [R[k, k] for k in range(2)] == [c[k, -1] for k in range(2)]
    final = load_agent(unit_dir(run.root, 4, 0) / "checkpoints" / "task_1.pt")
    # task 1 started from where task 0 left it: both pretraining stretches and both online phases are in it
    assert final.gradient_steps == 2 * 5 and final.online_steps == 2 * 16 and final.online_phases == 2
    with pytest.raises(ValueError, match="agent wsrl needs online_steps >= 1"):
        replace(config, online_steps=0)
    with pytest.raises(ValueError, match="agent bc needs online_steps 0"):
        replace(config, agent="bc", agent_config="")


@pytest.mark.slow
def test_a_wsrl_run_with_retention_replays_earlier_demonstrations_online(demos_dir, tmp_path):
    config = wsrl_config(demos_dir, tmp_path, strategy="er")
    unit = execute_run(config, tmp_path / "er", IN_PROCESS).units[0]
    assert unit.finished and unit.online_steps == [16, 16]


@pytest.mark.slow  # about a minute: two runs of the CLI
def test_a_wsrl_run_killed_in_an_online_phase_resumes_and_matches_an_uninterrupted_one(wsrl_run, tmp_path):
    config, uninterrupted = wsrl_run
    # 1 s after task 0's commit: past task 1's 5 pretraining steps, inside its online phase (16 steps, evaluated)
    progress = kill_after_first_task(config, tmp_path / "killed", delay=1.0)
    assert len(json.loads(progress.read_text())["R"]) == 1, "killed too late: task 1 had finished"

    subprocess.run(run_command(config, tmp_path / "killed"), check=True, capture_output=True)
    resumed, reference = load_run(tmp_path / "killed").units[0], uninterrupted.units[0]
    for matrix in ("b", "R", "c", "losses", "online_steps"):
        assert getattr(resumed, matrix) == getattr(reference, matrix), matrix


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_only_strategies_that_keep_earlier_data_replay_it_in_the_online_phase(name):
    from lifebot.agents.bc import BCAgent, BCConfig
    from lifebot.demos.dataset import Normalizer
    from lifebot.lifelong.runner import _learn_online
    from lifebot.lifelong.strategies import Transitions

    class OnlineRecorder(BCAgent):  # the runner's decision only: what learn_online is handed
        online = True

        def learn_online(self, env, steps, eval_points=(), evaluate=None, offline=None):
            self.offline = offline
            return []

    normalizer = Normalizer(np.zeros(4, np.float32), np.ones(4, np.float32))
    settings = {"retrain_steps": 0} if name == "packnet" else {}  # a one-step task leaves no room to retrain
    strategy = STRATEGIES[name](
        lambda: OnlineRecorder(BCConfig(hidden=(8,), batch_size=4, device="cpu"), 4, normalizer),
        STRATEGIES[name].config_class(**settings),
    )
    tasks = [Transitions(torch.randn(16, 4), torch.rand(16, 7) * 2 - 1) for _ in range(2)]
    protocol = {"suite": "spatial", "control_mode": "pd_ee_delta_pose", "eval_steps": [5]}
    for data in tasks:
        strategy.learn_task(data, 1)
        _learn_online(strategy, data, SPATIAL_TASK, {"online_steps": 5, "reward": "sparse"}, protocol, None)
    if name in ("er", "multitask"):  # earlier tasks' demonstrations fill half of every online batch
        assert len(strategy.agent.offline) > len(tasks[1])
    else:  # WSRL's own setting: online transitions only
        assert strategy.agent.offline is None


def _copy_run(run, root: Path, strategy: str, final_row: list[float]) -> Path:
    """The run's files under ``root``, relabelled ``strategy``, with each unit's last row of R replaced."""
    shutil.copytree(run.root, root)
    record = json.loads((root / "run.json").read_text())
    record["config"]["strategy"] = strategy
    (root / "run.json").write_text(json.dumps(record))
    for unit in run.units:
        path = unit_dir(root, unit.ordering, unit.seed) / RESULT_FILE
        document = json.loads(path.read_text())
        document["R"][-1] = final_row
        write_json(path, document)
    return root


def test_compare_pairs_units_and_refuses_runs_of_another_protocol(er_run, tmp_path):
    from lifebot.cli.main import main
    from lifebot.lifelong.compare import compare_runs

    _, run = er_run
    worse = load_run(_copy_run(run, tmp_path / "worse", "sequential", [0.0, 0.0]))
    comparison = compare_runs([run, worse])
    assert comparison.labels == ["er", "sequential"]
    expected = np.mean([0.0 - np.mean(u.R[-1]) for u in run.units])
    assert comparison.differences[1]["gem_acc"].mean == pytest.approx(expected)
    assert comparison.differences[1]["gem_acc"].n == 2

    assert main([*map(str, ["compare", run.root, worse.root, "--out", tmp_path / "cmp"])]) == 0
    assert {p.name for p in (tmp_path / "cmp").iterdir()} == {"comparison.md", "comparison.json", "comparison.png"}
    assert "Paired differences from **er**" in (tmp_path / "cmp" / "comparison.md").read_text()

    other = _copy_run(run, tmp_path / "other", "er", run.units[0].R[-1])
    record = json.loads((other / "run.json").read_text())
    record["protocol"]["init_checkpoint_sha256"] = "ab" * 32  # the same protocol from a pretrained start
    (other / "run.json").write_text(json.dumps(record))
    assert compare_runs([run, load_run(other)]).differences[1]["gem_acc"].n == 2
    record["protocol"]["episodes"] = 5
    (other / "run.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"other and .* measured different protocols \(episodes differ\)"):
        compare_runs([run, load_run(other)])
    record["protocol"]["episodes"] = run.protocol["episodes"]
    record["protocol"]["orders"]["0"] = record["protocol"]["orders"]["0"][::-1]
    (other / "run.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"measured different protocols \(orders differ\)"):
        compare_runs([run, load_run(other)])


def test_a_run_started_before_a_config_field_existed_resumes_when_the_field_is_at_its_default(er_run, tmp_path):
    config, run = er_run
    root = tmp_path / "older"
    shutil.copytree(run.root, root)
    record = json.loads((root / "run.json").read_text())
    del record["strategy_config"]["memory_per_task"]  # as if the field came later, its default doing what ran
    (root / "run.json").write_text(json.dumps(record))
    assert [u.R for u in execute_run(config, root, IN_PROCESS).units] == [u.R for u in run.units]
    changed = replace(config, strategy_options=("memory_per_task=5",))
    with pytest.raises(ResultsError, match=r"holds another run \(config.strategy_options"):
        execute_run(changed, root, IN_PROCESS)


def test_a_fresh_optimizer_starts_each_task_without_the_previous_ones_moments(demos_dir, tmp_path):
    with pytest.raises(ValueError, match="fresh_optimizer: must be false: agent wsrl's optimizers"):
        tiny_config(demos_dir, agent="wsrl", online_steps=10, fresh_optimizer=True)
    config = tiny_config(
        demos_dir, strategy="sequential", orderings=(0,), eval_points=1, steps_per_task=10, fresh_optimizer=True
    )
    execute_run(config, tmp_path / "run", IN_PROCESS)
    first, last = (load_agent(unit_dir(tmp_path / "run", 0, 0) / "checkpoints" / f"task_{k}.pt") for k in (0, 1))
    assert last.gradient_steps == 20  # both tasks trained the weights; Adam counted only the last task's steps
    assert {int(state["step"]) for state in last.optimizer.state_dict()["state"].values()} == {10}
    assert first.optimizer.param_groups[0]["lr"] == last.optimizer.param_groups[0]["lr"]
