"""One default control mode everywhere, and a demos/run mismatch refused before a run claims its folder."""

from __future__ import annotations

import dataclasses
import inspect
import json

import pytest

from lifebot.demos.collect import CollectConfig, header_for, task_file
from lifebot.demos.format import write_demo_file
from lifebot.envs.control import DEFAULT_CONTROL_MODE
from lifebot.envs.gym_env import LifebotEnv
from lifebot.lifelong.results import RUN_FILE, write_json
from lifebot.lifelong.runner import RunConfig, plan_run, start_run
from lifebot.suites.store import load_suite

TASKS = tuple(load_suite("goal").task_names[:2])


def test_every_entry_point_defaults_to_the_one_control_mode():
    assert DEFAULT_CONTROL_MODE == "pd_ee_delta_pose"
    assert CollectConfig(suite="goal").control_mode == DEFAULT_CONTROL_MODE
    assert RunConfig(suite="goal").control_mode == DEFAULT_CONTROL_MODE
    assert inspect.signature(LifebotEnv).parameters["control_mode"].default == DEFAULT_CONTROL_MODE


def test_demos_in_another_mode_are_refused_before_the_run_writes_anything(tmp_path, capsys):
    from lifebot.cli.main import main

    demos = CollectConfig(suite="goal", control_mode="osc_pose", out=tmp_path / "demos")
    for task in TASKS:  # headers only: the check reads no episodes
        write_demo_file(task_file(demos, task), header_for(demos, task), {})
    run = tmp_path / "run"
    argv = ["run", "--suite", "goal", "--tasks", "2", "--demos-per-task", "1", "--steps-per-task", "4"]
    argv += ["--demos-dir", str(tmp_path / "demos"), "--out", str(run), "--workers", "1"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "pass --control-mode osc_pose to use them, or another --demos-dir" in error
    assert not (run / RUN_FILE).exists()


def test_a_run_stopped_before_its_first_unit_gives_way_to_the_corrected_command(tmp_path):
    config = RunConfig(suite="goal", tasks=2, demos_per_task=1, steps_per_task=4, demos_dir=str(tmp_path / "demos"))
    root = tmp_path / "run"
    write_json(root / RUN_FILE, plan_run(dataclasses.replace(config, steps_per_task=8)))  # e.g. collection killed
    record = start_run(config, root)
    assert record["config"]["steps_per_task"] == 4
    assert json.loads((root / RUN_FILE).read_text())["config"]["steps_per_task"] == 4
    (root / "units" / "o0_s0").mkdir(parents=True)
    (root / "units" / "o0_s0" / "progress.json").write_text("{}")
    with pytest.raises(ValueError, match="holds another run"):
        start_run(dataclasses.replace(config, steps_per_task=8), root)


def test_a_started_run_grows_by_orderings_and_seeds_and_keeps_its_record(tmp_path):
    config = RunConfig(suite="goal", tasks=2, demos_per_task=1, steps_per_task=4, demos_dir=str(tmp_path / "demos"))
    root = tmp_path / "run"
    first = start_run(config, root)
    (root / "units" / "o0_s0").mkdir(parents=True)
    (root / "units" / "o0_s0" / "progress.json").write_text("{}")
    grown = start_run(dataclasses.replace(config, orderings=(2, 0), seeds=(1,)), root)
    assert grown["config"]["orderings"] == [0, 2] and grown["config"]["seeds"] == [0, 1]
    assert set(grown["protocol"]["orders"]) == {"0", "2"}
    assert grown["protocol"]["orders"]["0"] == first["protocol"]["orders"]["0"]
    assert grown["code_revision"] == first["code_revision"] and grown["versions"] == first["versions"]
    assert json.loads((root / RUN_FILE).read_text()) == grown
    with pytest.raises(ValueError, match=r"holds another run \(config.steps_per_task"):
        start_run(dataclasses.replace(config, seeds=(2,), steps_per_task=8), root)
    assert json.loads((root / RUN_FILE).read_text())["config"]["seeds"] == [0, 1]
