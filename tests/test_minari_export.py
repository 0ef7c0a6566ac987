"""``lifebot demos export --format minari``: a real demo file, read back by the real ``minari.load_dataset``."""

from __future__ import annotations

import minari
import numpy as np
import pytest

from lifebot.cli.main import main
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.format import DemoFile
from lifebot.suites.store import load_suite

TASK = min(load_suite("goal").tasks, key=lambda t: t.spec.horizon).name


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("demos")
    (path,) = collect(CollectConfig(suite="goal", tasks=(TASK,), num_demos=2, workers=1, out=out), progress=False)
    return path


def test_export_is_read_back_by_minari(demo_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    assert main(["demos", "export", str(demo_file), "--format", "minari"]) == 0
    assert f"Minari dataset lifebot/goal-{TASK}-v0 (2 episodes" in capsys.readouterr().out
    dataset = minari.load_dataset(f"lifebot/goal-{TASK}-v0")
    assert dataset.total_episodes == 2
    with DemoFile(demo_file) as source:
        for exported, name in zip(dataset.iterate_episodes(), source.demo_names, strict=True):
            episode = source.episode(name)
            np.testing.assert_array_equal(exported.actions, episode.actions)
            np.testing.assert_array_equal(exported.rewards, episode.rewards)
            for key, values in episode.obs.items():
                np.testing.assert_array_equal(exported.observations[key][:-1], values)
                np.testing.assert_array_equal(exported.observations[key][-1], episode.next_obs[key][-1])
            assert exported.terminations[-1] and not exported.terminations[:-1].any()
            assert not exported.truncations.any()
    spec = dataset.spec.env_spec
    assert spec.id == f"lifebot/Goal-{TASK}-v0" and spec.kwargs["control_mode"] == "pd_ee_delta_pose"
    env = dataset.recover_environment()
    assert env.unwrapped.task_spec.name == TASK
    env.close()
