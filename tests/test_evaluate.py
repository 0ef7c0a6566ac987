"""``lifebot evaluate``: an agent checkpoint on the fixed evaluation states, with a Wilson interval and videos."""

from __future__ import annotations

import re

import imageio
import pytest

from lifebot.agents.bc import BCAgent, BCConfig
from lifebot.cli.main import main
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.suites.store import load_suite

SUITE = load_suite("goal")
TASK = min(SUITE.tasks, key=lambda t: t.spec.horizon).name  # the shortest episodes


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluate")
    paths = collect(CollectConfig(suite="goal", tasks=(TASK,), num_demos=2, workers=1, out=out), progress=False)
    dataset = DemoDataset(paths)
    agent = BCAgent.from_dataset(BCConfig(hidden=(32, 32), batch_size=32, device="cpu"), dataset)
    agent.learn(dataset, steps=10)
    return agent.save(out / "bc.pt")


def test_evaluate_prints_success_per_task_with_a_wilson_interval(checkpoint, capsys):
    assert (
        main(["evaluate", str(checkpoint), "--suite", "goal", "--tasks", TASK, "--episodes", "1", "--workers", "1"])
        == 0
    )
    out = capsys.readouterr().out
    assert re.search(rf"{TASK}\s+success \d\.\d{{3}}\s+\(\d/1, 95% Wilson interval \[\d\.\d{{3}}, \d\.\d{{3}}\]\)", out)


@pytest.mark.slow  # renders every step of two episodes (about 30 s here)
def test_evaluate_writes_one_video_per_episode(checkpoint, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "egl")
    videos = tmp_path / "videos"
    argv = ["evaluate", str(checkpoint), "--suite", "goal", "--tasks", TASK, "--episodes", "2"]
    assert main([*argv, "--video", str(videos), "--video-size", "32"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"{TASK}\s+success \d\.\d{{3}}\s+\(\d/2, 95% Wilson interval \[\d\.\d{{3}}, \d\.\d{{3}}\]\)", out)
    files = sorted((videos / TASK).glob("*.mp4"))
    assert [f.name for f in files] == ["episode_0.mp4", "episode_1.mp4"]
    frames = imageio.mimread(files[0])
    assert len(frames) >= 2 and frames[0].shape == (32, 32, 3)


def test_evaluate_refuses_an_unknown_task_before_any_episode(checkpoint, capsys):
    assert main(["evaluate", str(checkpoint), "--suite", "goal", "--tasks", "Nope", "--episodes", "1"]) == 2
    assert "Nope" in capsys.readouterr().err
