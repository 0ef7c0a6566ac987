"""The ``lifebot`` command line, run as a user would run it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lifebot.cli.main import main
from lifebot.suites.generate import GenerateConfig, generate_suite
from lifebot.suites.store import load_suite


def test_suites_list_and_show(capsys):
    assert main(["suites", "list"]) == 0
    listing = capsys.readouterr().out
    for name in ("spatial", "object", "goal", "long", "pretrain"):
        assert name in listing
    assert main(["suites", "show", "goal"]) == 0
    shown = capsys.readouterr().out
    assert "lifebot/Goal-" in shown and "orderings:" in shown and "init states: 50" in shown


def test_unknown_suite_is_a_clear_error(capsys):
    assert main(["suites", "show", "nope"]) == 2
    assert "unknown suite 'nope'" in capsys.readouterr().err


def test_generate_and_render_a_small_suite(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUJOCO_GL", "egl")
    generate_suite("spatial", tmp_path, GenerateConfig(num_init_states=2, size=2), progress=False)
    monkeypatch.setenv("LIFEBOT_SUITES_DIR", str(tmp_path))
    assert main(["suites", "render", "spatial", "--out", str(tmp_path / "pics"), "--size", "96"]) == 0
    names = [t.name for t in load_suite("spatial", tmp_path).tasks]
    for name in names:
        assert (tmp_path / "pics" / f"{name}.png").stat().st_size > 1000
    assert (tmp_path / "pics" / "suite.png").is_file()


def test_generate_command_writes_where_told(tmp_path, capsys):
    assert main(["suites", "generate", "object", "--num-init-states", "2", "--size", "2", "--out", str(tmp_path)]) == 0
    assert load_suite("object", tmp_path).tasks[0].num_init_states == 2


@pytest.mark.parametrize("argv", [["--help"], ["suites", "--help"]])
def test_console_script_help(argv):
    result = subprocess.run([sys.executable, "-m", "lifebot.cli.main", *argv], capture_output=True, text=True)
    assert result.returncode == 0 and "lifebot" in result.stdout


def test_quickstart_runs_end_to_end(tmp_path, capsys):
    argv = ["quickstart", "--suite", "spatial", "--tasks", "2", "--demos", "2", "--steps", "30", "--episodes", "1"]
    argv += ["--workers", "1", "--demos-dir", str(tmp_path / "demos"), "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2/2 replay exactly" in out and "libero_fwt" in out and "libero_nbt" in out and "libero_auc" in out
    assert (tmp_path / "run" / "report" / "summary.md").exists()
    assert len(list((tmp_path / "run" / "units").glob("*/result.json"))) == 2
