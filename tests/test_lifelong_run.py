"""The lifelong runner on real environments and demonstrations: matrices, report, restart, kill and resume, Ray."""

from __future__ import annotations

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

from lifebot.agents.idm import IDMAgent, IDMConfig
from lifebot.agents.registry import load_agent
from lifebot.atomic import DiskFull
from lifebot.demos.dataset import DemoDataset
from lifebot.demos.format import DemoFileError
from lifebot.envs.observations import STATE_SHAPES
from lifebot.lifelong.executors import ExecutionConfig, execute_run
from lifebot.lifelong.report import metric_table, write_report
from lifebot.lifelong.results import PROGRESS_FILE, RESULT_FILE, ResultsError, load_run, unit_dir, write_json
from lifebot.lifelong.runner import RunConfig, TrainingDiverged

IN_PROCESS = ExecutionConfig(workers=1)


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
    with pytest.raises(ValueError, match="strategy must be one of"):
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
        f"--orderings={','.join(map(str, config.orderings))}",
        f"--seeds={','.join(map(str, config.seeds))}",
        f"--tasks={config.tasks}",
        f"--demos={config.demos_per_task}",
        f"--steps={config.steps_per_task}",
        f"--eval-points={config.eval_points}",
        f"--episodes={config.episodes}",
        f"--demos-dir={config.demos_dir}",
        "--workers=1",
        f"--out={out}",
    ]


def test_a_killed_run_resumes_after_its_last_task_and_matches_an_uninterrupted_one(er_run, demos_dir, tmp_path):
    config, uninterrupted = er_run
    config = replace(config, orderings=(4,))
    progress = unit_dir(tmp_path / "killed", 4, 0) / PROGRESS_FILE
    process = subprocess.Popen(run_command(config, tmp_path / "killed"), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (progress.exists() and len(json.loads(progress.read_text())["R"]) == 1):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before its first task"
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    first_checkpoint = unit_dir(tmp_path / "killed", 4, 0) / "checkpoints" / "task_0.pt"
    stamp = first_checkpoint.stat().st_mtime_ns

    subprocess.run(run_command(config, tmp_path / "killed"), check=True, capture_output=True)
    resumed = load_run(tmp_path / "killed").units[0]
    reference = next(u for u in uninterrupted.units if u.ordering == 4)
    assert first_checkpoint.stat().st_mtime_ns == stamp  # task 0 was not learned again
    for matrix in ("b", "R", "c", "losses"):
        assert getattr(resumed, matrix) == getattr(reference, matrix), matrix


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
