"""The data folders: the checkout's, the packaged copy a non-editable install reads, and the override."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lifebot import resources

ROOT = Path(__file__).resolve().parents[1]
LOCAL = (".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "demos", "runs", "renders")
"""What of a checkout is local (environments, caches, generated data), not source."""


def test_a_checkout_reads_its_own_folders():
    assert resources.data_folder("task_suites") == ROOT / "task_suites"
    assert resources.data_folder("policies") == ROOT / "policies"


def test_an_install_reads_the_packaged_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "CHECKOUT", tmp_path)  # site-packages: no pyproject.toml, no task_suites/
    monkeypatch.delenv("LIFEBOT_SUITES_DIR", raising=False)
    assert resources.suites_root() == resources.PACKAGED / "task_suites"
    assert resources.data_folder("policies") == resources.PACKAGED / "policies"
    monkeypatch.setenv("LIFEBOT_SUITES_DIR", str(tmp_path / "mine"))
    assert resources.suites_root() == tmp_path / "mine"
    with pytest.raises(KeyError, match="unknown data folder 'demos'"):
        resources.data_folder("demos")


@pytest.mark.slow
def test_a_built_wheel_ships_and_finds_the_suites_and_configs(tmp_path):
    """Build the wheel, install it (no dependencies: the test's environment has them) and read from it."""
    source = tmp_path / "source"  # a copy: pip builds in the tree it is given, and leaves build/ there
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LOCAL))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)], check=True)
    [wheel] = tmp_path.glob("lifebot-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    script = (
        "from lifebot.agents.registry import POLICIES_DIR, load_agent_config\n"
        "from lifebot.suites.store import list_suites, load_suite, suites_root\n"
        "suite = load_suite('goal')\n"
        "print(suites_root(), POLICIES_DIR, len(list_suites()), suite.init_states(suite.task_names[0]).shape[0])\n"
        "load_agent_config('bc')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "MUJOCO_GL": "egl"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    suites, policies, count, states = done.stdout.split()
    packaged = site / "lifebot" / "_data"
    assert (suites, policies) == (str(packaged / "task_suites"), str(packaged / "policies"))
    assert int(count) == len(list((ROOT / "task_suites").glob("*/suite.json"))) and int(states) == 50
