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
    assert "gem_acc" in out and "forgetting" in out
    assert out.count("after learning each (rows)") == 2  # each ordering's success matrix is shown
    assert (tmp_path / "run" / "report" / "summary.md").exists()
    assert len(list((tmp_path / "run" / "units").glob("*/result.json"))) == 2


def _parser(*words):
    """The argparse parser of one verb, e.g. ``_parser("demos", "collect")``."""
    from lifebot.cli.main import build_parser

    parser = build_parser()
    for word in words:
        parser = next(a for a in parser._actions if a.dest in ("command", "verb")).choices[word]
    return parser


def test_version(capsys):
    import lifebot

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"lifebot {lifebot.__version__}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["demos", "collect", "--suite", "goal", "--num-demos", "-3"],
            "argument --num-demos: must be at least 1, got -3",
        ),
        (["demos", "collect", "--suite", "goal", "--workers", "0"], "argument --workers: must be at least 1, got 0"),
        (["demos", "collect", "--suite", "goal", "--noise", "lots"], "argument --noise: invalid float value: 'lots'"),
        (["run", "--suite", "goal", "--out", "r", "--episodes", "0"], "argument --episodes: must be at least 1, got 0"),
        (["run", "--suite", "goal", "--out", "r", "--jobs", "0"], "argument --jobs: must be at least 1, got 0"),
        (["quickstart", "--tasks", "1"], "argument --tasks: must be at least 2, got 1"),
        (["suites", "generate", "--num-init-states", "0"], "argument --num-init-states: must be at least 1, got 0"),
        (["demos", "info", "absent.hdf5"], "argument file: no such file or folder: absent.hdf5"),
        (["run", "--suite", "goal", "--out", "r", "--agent-config", "nope.yaml"], "no such file or folder: nope.yaml"),
        (["demos", "collect", "--suite", "goal", "--num-demo", "2"], "unrecognized arguments: --num-demo"),
        (["demos", "collect", "--suite", "goal", "--task", "X"], "unrecognized arguments: --task"),
    ],
)
def test_bad_arguments_are_refused_naming_the_flag(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_options_come_from_the_config_dataclasses():
    from lifebot.configs import field_docs
    from lifebot.demos.collect import CollectConfig
    from lifebot.lifelong.config import RunConfig

    collect_help = _parser("demos", "collect").format_help()
    assert f"(default: {CollectConfig(suite='x').num_demos})" in collect_help
    run = _parser("run")
    by_dest = {a.dest: a for a in run._actions}
    assert by_dest["steps_per_task"].default == RunConfig.steps_per_task
    assert field_docs(RunConfig)["steps_per_task"] in by_dest["steps_per_task"].help


def test_every_option_of_every_verb_has_help():
    from lifebot.cli.main import build_parser

    def walk(parser, path):
        for action in parser._actions:
            if action.dest in ("command", "verb"):
                for name, sub in action.choices.items():
                    yield from walk(sub, (*path, name))
            elif action.dest != "help":
                yield path, action

    missing = [(path, a.dest) for path, a in walk(build_parser(), ()) if not a.help]
    assert missing == []


def test_help_imports_no_simulator_or_torch():
    code = "import sys; from lifebot.cli.main import main; main(['run', '--help']); "
    code += "print(sorted(m for m in ('torch', 'robosuite', 'mujoco') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip().endswith("[]")
