"""Demonstrations: collected by the scripted experts on real simulation, checked key by key, replayed,
resumed after a kill, rejected clearly when broken, and read back through the torch dataset."""

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
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from lifebot.cli.main import main
from lifebot.demos import format as demo_format
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.demos.format import DemoFile, DemoFileError, Episode, write_episode
from lifebot.demos.verify import verify_file
from lifebot.suites.store import load_suite

GOAL = load_suite("goal")
ONE_PER_PREDICATE = {}
for _task in GOAL.tasks:
    ONE_PER_PREDICATE.setdefault(_task.spec.goal[0].name, _task.name)
FAST = "pd_ee_delta_pose"


@pytest.fixture(scope="module")
def goal_demos(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("demos")
    config = CollectConfig(
        suite="goal", tasks=tuple(ONE_PER_PREDICATE.values()), num_demos=2, workers=2, control_mode=FAST, out=out
    )
    return collect(config, progress=False)


def test_every_goal_predicate_is_demonstrated_and_replays(goal_demos):
    assert set(ONE_PER_PREDICATE) == {"On", "In", "Stacked", "Lifted", "InRegion", "Open"}
    for path in goal_demos:
        reports = verify_file(path)
        assert len(reports) == 2
        assert all(r.ok and r.success_replayed for r in reports), (path, reports)


def test_file_layout_matches_the_design(goal_demos):
    path = goal_demos[0]
    with h5py.File(path, "r") as f:
        data = f["data"]
        for attr in ("total", "env_args", "task_spec", "instruction", "lifebot_version", "schema_version"):
            assert attr in data.attrs, attr
        env_args = json.loads(data.attrs["env_args"])
        assert env_args["type"] == 1 and env_args["env_name"].startswith("lifebot/Goal-")
        assert set(env_args["versions"]) == {"lifebot", "mujoco", "robosuite"}
        assert env_args["env_kwargs"]["control_mode"] == FAST and data.attrs["control_mode"] == FAST
        assert json.loads(data.attrs["task_spec"])["name"] == path.stem
        assert sorted(data) == ["demo_0", "demo_1"]
        total = 0
        for name in data:
            demo = data[name]
            n = int(demo.attrs["num_samples"])
            total += n
            assert demo.attrs["model_file"].startswith("<mujoco")
            assert demo["actions"].shape == (n, 7) and demo["actions"].dtype == np.float32
            assert np.all(np.abs(demo["actions"][()]) <= 1.0)
            assert demo["states"].ndim == 2 and demo["states"].shape[0] == n
            np.testing.assert_array_equal(demo.attrs["init_state"], demo["states"][0])
            assert "seed" in demo.attrs
            for group in ("obs", "next_obs"):
                assert sorted(demo[group]) == ["objects", "proprio", "task"]
                assert all(demo[group][k].shape[0] == n for k in demo[group])
            np.testing.assert_array_equal(demo["obs/proprio"][1:], demo["next_obs/proprio"][:-1])
            assert demo["rewards"].shape == (n,) and demo["rewards"][-1] == 1.0
            assert demo["dones"].shape == (n,) and demo["dones"][-1] == 1 and demo["dones"][:-1].sum() == 0
        assert data.attrs["total"] == total
        assert [m.decode() for m in f["mask/train"]] + [m.decode() for m in f["mask/valid"]] != []


def test_osc_mode_demonstration_replays(tmp_path):
    config = CollectConfig(
        suite="goal", tasks=(ONE_PER_PREDICATE["On"],), num_demos=1, control_mode="osc_pose", out=tmp_path
    )
    (path,) = collect(config, progress=False)
    assert DemoFile(path).header.control_mode == "osc_pose"
    assert all(r.ok for r in verify_file(path))


def test_killed_collection_resumes_without_redoing_work(tmp_path):
    task = ONE_PER_PREDICATE["Lifted"]
    command = [
        sys.executable,
        "-m",
        "lifebot.cli.main",
        "demos",
        "collect",
        "--suite",
        "goal",
        "--tasks",
        task,
        "--num-demos",
        "4",
        "--workers",
        "1",
        "--control-mode",
        FAST,
        "--out",
        str(tmp_path / "killed"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_part = tmp_path / "killed" / "goal" / ".parts" / task / "demo_0.hdf5"
    deadline = time.monotonic() + 120
    while not first_part.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert first_part.exists(), "the collection never wrote its first demonstration"
    assert not (tmp_path / "killed" / "goal" / f"{task}.hdf5").exists()

    resumed = CollectConfig(suite="goal", tasks=(task,), num_demos=4, control_mode=FAST, out=tmp_path / "killed")
    uninterrupted = CollectConfig(suite="goal", tasks=(task,), num_demos=4, control_mode=FAST, out=tmp_path / "clean")
    original_write = os.replace
    rewritten = []

    def spy(src, dst):
        rewritten.append(Path(dst).name)
        return original_write(src, dst)

    os.replace = spy
    try:
        (resumed_path,) = collect(resumed, progress=False)
    finally:
        os.replace = original_write
    assert "demo_0.hdf5" not in rewritten  # the demonstration written before the kill was not collected again
    assert not first_part.exists()  # merged into the task file
    (clean_path,) = collect(uninterrupted, progress=False)
    with DemoFile(resumed_path) as a, DemoFile(clean_path) as b:
        assert a.demo_names == b.demo_names == [f"demo_{i}" for i in range(4)]
        for name in a.demo_names:
            np.testing.assert_array_equal(a.episode(name).actions, b.episode(name).actions)
            np.testing.assert_array_equal(a.episode(name).states, b.episode(name).states)
    # Asking again redoes nothing; asking for more keeps the four and adds two.
    before = resumed_path.stat().st_mtime_ns
    collect(resumed, progress=False)
    assert resumed_path.stat().st_mtime_ns == before
    (grown,) = collect(
        CollectConfig(suite="goal", tasks=(task,), num_demos=6, control_mode=FAST, out=tmp_path / "killed"),
        progress=False,
    )
    with DemoFile(grown) as g, DemoFile(clean_path) as b:
        assert len(g.demo_names) == 6
        np.testing.assert_array_equal(g.episode("demo_3").actions, b.episode("demo_3").actions)


def test_a_killed_writers_temporary_part_does_not_block_the_merge(tmp_path, goal_demos):
    out = tmp_path / "demos"
    (out / "goal").mkdir(parents=True)
    task = goal_demos[0].stem
    with DemoFile(goal_demos[0]) as demo_file:
        episodes = [demo_file.episode(n) for n in demo_file.demo_names]
    parts = out / "goal" / ".parts" / task
    parts.mkdir(parents=True)
    for index, episode in enumerate(episodes):
        with h5py.File(parts / f"demo_{index}.hdf5", "w") as f:
            write_episode(f.create_group("demo"), episode)
    (parts / f".demo_{len(episodes)}.hdf5.tmp-99999").write_bytes(b"half a part")
    config = CollectConfig(suite="goal", tasks=(task,), num_demos=len(episodes), control_mode=FAST, out=out)
    assert collect(config, progress=False) == [out / "goal" / f"{task}.hdf5"]
    assert not parts.exists()
    with DemoFile(out / "goal" / f"{task}.hdf5") as merged:
        assert len(merged.demo_names) == len(episodes)


def _tiny_episode(seed: int) -> Episode:
    """A well-formed part's content, no physics (what a merge reads and writes, not what it means)."""
    steps = np.zeros((3, 2))
    zeros = np.zeros(3)
    return Episode(seed, np.zeros((3, 7)), np.zeros((3, 5)), {"x": steps}, {"x": steps}, zeros, zeros, "<x/>")


def _full_disk_at_write(group, episode):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    "full, expected",
    [
        (
            "before the merge",
            "no space left on device for the merge (it needs about 1.0 MiB, 0.0 MiB are free); nothing was "
            "written, the collected parts are kept",
        ),
        ("during the merge", "no space left on device; nothing was written"),
    ],
)
def test_a_full_disk_ends_the_merge_with_one_line_naming_the_file(tmp_path, monkeypatch, capsys, full, expected):
    out, task = tmp_path / "demos", GOAL.task_names[0]
    parts = out / "goal" / ".parts" / task
    parts.mkdir(parents=True)
    for index in range(2):
        with h5py.File(parts / f"demo_{index}.hdf5", "w") as f:
            write_episode(f.create_group("demo"), _tiny_episode(index))
    if full == "before the merge":
        monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(total=1 << 30, used=1 << 30, free=0))
    else:
        monkeypatch.setattr(demo_format, "write_episode", _full_disk_at_write)
    collect_args = ["--suite", "goal", "--tasks", task, "--num-demos", "2", "--workers", "1", "--out", str(out)]
    assert main(["demos", "collect", *collect_args]) == 2
    err = capsys.readouterr().err
    merged = out / "goal" / f"{task}.hdf5"
    assert err == f"lifebot demos: error: {merged}: {expected}\n"
    assert sorted(p.name for p in parts.iterdir()) == ["demo_0.hdf5", "demo_1.hdf5"]  # kept for the next try
    assert sorted(p.name for p in (out / "goal").iterdir()) == [".parts"]  # no merged file, no temporary file


def _broken_files(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    truncated = tmp_path / "truncated.hdf5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    garbage = tmp_path / "garbage.hdf5"
    garbage.write_bytes(os.urandom(4096))
    foreign = tmp_path / "foreign.hdf5"
    with h5py.File(foreign, "w") as f:
        f.create_dataset("images", data=np.zeros(3))
    misnamed = tmp_path / "misnamed.hdf5"
    misnamed.write_bytes(good.read_bytes())
    with h5py.File(misnamed, "a") as f:
        f.move("data/demo_0", "data/episode_0")
    miscounted = tmp_path / "miscounted.hdf5"
    miscounted.write_bytes(good.read_bytes())
    with h5py.File(miscounted, "a") as f:
        f["data"].attrs["total"] = 1
    poisoned = {
        "nan_actions": ("data/demo_1/actions", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 9, np.nan, a)),
        "inf_obs": ("data/demo_0/obs/proprio", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.inf, a)),
        "wide_actions": ("data/demo_0/actions", lambda a: np.concatenate([a, a[:, :1]], axis=1)),
        "flat_obs": ("data/demo_0/next_obs/objects", lambda a: a[:, 0]),
    }
    damaged = {}
    for case, (key, change) in poisoned.items():
        damaged[case] = tmp_path / f"{case}.hdf5"
        damaged[case].write_bytes(good.read_bytes())
        with h5py.File(damaged[case], "a") as f:
            values = change(f[key][()])
            del f[key]
            f[key] = values
    listed = tmp_path / "listed.hdf5"
    listed.write_bytes(good.read_bytes())
    with h5py.File(listed, "a") as f:
        f["data"].attrs["env_args"] = "[1, 2]"
    return {
        "nan_actions": (damaged["nan_actions"], "data/demo_1/actions holds a non-finite value (NaN or inf) at row 1"),
        "inf_obs": (damaged["inf_obs"], "data/demo_0/obs/proprio holds a non-finite value (NaN or inf) at row 0"),
        "wide_actions": (damaged["wide_actions"], "data/demo_0/actions has shape"),
        "flat_obs": (damaged["flat_obs"], "data/demo_0/next_obs/objects has shape"),
        "listed": (listed, "data.attrs['env_args'] is not a JSON object"),
        "truncated": (truncated, "not a readable HDF5 file"),
        "garbage": (garbage, "not a readable HDF5 file"),
        "foreign": (foreign, "no 'data' group"),
        "misnamed": (misnamed, "data/episode_0 is not named demo_<int>"),
        "miscounted": (miscounted, "data.attrs['total'] is 1"),
        "missing": (tmp_path / "absent.hdf5", "no such file"),
    }


def test_broken_files_get_clear_errors(tmp_path, goal_demos, capsys):
    for case, (path, problem) in _broken_files(tmp_path, goal_demos[0]).items():
        with pytest.raises(DemoFileError) as info:
            DemoFile(path)
        assert str(path) in str(info.value) and problem in str(info.value), case
        assert main(["demos", "info", str(path)]) == 2
        err = capsys.readouterr().err
        assert str(path) in err and "Traceback" not in err


def test_nan_demonstrations_are_refused_by_verify_and_datasets(tmp_path, goal_demos, capsys):
    path, problem = _broken_files(tmp_path, goal_demos[0])["nan_actions"]
    assert main(["demos", "verify", str(path)]) == 2
    assert f"{path}: {problem}" in capsys.readouterr().err
    with pytest.raises(DemoFileError, match="non-finite"):
        verify_file(path)
    with pytest.raises(DemoFileError, match="non-finite"):
        DemoDataset([goal_demos[1], path])


def test_info_and_verify_commands(goal_demos, capsys):
    assert main(["demos", "info", str(goal_demos[0])]) == 0
    out = capsys.readouterr().out
    assert "demos        2" in out and "pd_ee_delta_pose" in out and "mujoco 3.3.7" in out
    assert main(["demos", "verify", str(goal_demos[1])]) == 0
    assert "2/2 demos replay" in capsys.readouterr().out


def test_dataset_yields_normalised_transitions_and_sequences(goal_demos):
    dataset = DemoDataset(goal_demos)
    assert dataset.control_mode == FAST
    with DemoFile(goal_demos[0]) as f:
        first_total = int(f.attrs["total"])
    assert len(dataset) == sum(int(DemoFile(p).attrs["total"]) for p in goal_demos)
    item = dataset[0]
    assert item["obs"].shape == (dataset.obs_dim,) and item["action"].shape == (7,)
    assert abs(float(dataset.obs.mean())) < 0.2  # normalised
    sequences = DemoDataset(goal_demos[:1], sequence_length=5)
    assert sequences[0]["obs"].shape == (5, dataset.obs_dim)
    assert len(sequences) == first_total - 2 * 4  # two demos, windows stay inside each
    with pytest.raises(DemoFileError, match="no 'data' group"):
        bad = goal_demos[0].parent / "not_demos.hdf5"
        with h5py.File(bad, "w") as f:
            f.create_group("other")
        DemoDataset([bad])


def test_image_demonstrations(tmp_path, monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "egl")
    config = CollectConfig(
        suite="goal",
        tasks=(ONE_PER_PREDICATE["Lifted"],),
        num_demos=1,
        images=True,
        image_size=64,
        control_mode=FAST,
        out=tmp_path,
    )
    (path,) = collect(config, progress=False)
    with h5py.File(path, "r") as f:
        demo = f["data/demo_0"]
        n = int(demo.attrs["num_samples"])
        for key in ("agentview_image", "eye_in_hand_image"):
            assert demo[f"obs/{key}"].shape == (n, 64, 64, 3) and demo[f"obs/{key}"].dtype == np.uint8
        assert f["data"].attrs["image_convention"] == "upright"
    assert all(r.ok for r in verify_file(path))
    dataset = DemoDataset([path], image_keys=("agentview_image",))
    assert dataset[0]["agentview_image"].shape == (64, 64, 3)
    one_kind_per_file = f"{path.name}: holds demos recorded with .*'image'.*this run records .*'state'"
    with pytest.raises(DemoFileError, match=one_kind_per_file):
        collect(dataclasses.replace(config, images=False, num_demos=2), progress=False)


def test_recording_goes_past_success_through_the_release(goal_demos):
    """The goal first holds at success_step; the demo goes on (the release and retreat) and ends holding it."""
    path = next(p for p in goal_demos if p.stem == ONE_PER_PREDICATE["In"])
    with DemoFile(path) as f:
        for name in f.demo_names:
            episode = f.episode(name)
            assert episode.success_step is not None and episode.success_step < episode.num_samples - 1
            assert episode.rewards[episode.success_step] == 1 and episode.rewards[-1] == 1 and episode.dones[-1]
            after = episode.expert_actions[episode.success_step :, 6]
            assert (after < 0).sum() >= 3  # several "open" labels, not one
            assert np.all(episode.rewards[: episode.success_step] == 0)


def test_noisy_collection_keeps_clean_labels_and_exact_replay(tmp_path):
    config = CollectConfig(
        suite="goal", tasks=(ONE_PER_PREDICATE["On"],), num_demos=2, control_mode=FAST, noise=0.02, out=tmp_path
    )
    (path,) = collect(config, progress=False)
    with DemoFile(path) as f:
        assert f.header.action_noise == 0.02
        episode = f.episode(f.demo_names[0])
    arm = np.abs(episode.actions[:, :6] - episode.expert_actions[:, :6])
    assert arm.max() > 0.005  # executed = expert + noise on the arm ...
    assert np.array_equal(episode.actions[:, 6], episode.expert_actions[:, 6])  # ... never on the gripper
    assert all(r.ok and r.success_replayed for r in verify_file(path))  # replaying the executed actions is exact
    labels = DemoDataset([path]).actions.numpy()
    executed = DemoDataset([path], action_labels="executed").actions.numpy()
    with DemoFile(path) as f:
        expected = np.concatenate([f.episode(n).expert_actions for n in f.demo_names])
    assert np.array_equal(labels, expected) and not np.array_equal(labels, executed)
    with pytest.raises(DemoFileError, match="collected with noise"):  # noisy data with the labels removed
        with h5py.File(path, "a") as f:
            del f["data/demo_0/expert_actions"]
        DemoDataset([path])


def test_files_from_before_clean_labels_still_load(tmp_path, goal_demos):
    """An older file (no expert_actions, no success_step, no action_noise) reads with actions as labels."""
    old = tmp_path / "old.hdf5"
    old.write_bytes(goal_demos[0].read_bytes())
    with h5py.File(old, "a") as f:
        del f["data"].attrs["action_noise"]
        for name in f["data"]:
            del f[f"data/{name}/expert_actions"]
            del f[f"data/{name}"].attrs["success_step"]
    with DemoFile(old) as f:
        episode = f.episode(f.demo_names[0])
        assert episode.expert_actions is None and episode.success_step is None and f.header.action_noise == 0.0
    assert np.array_equal(DemoDataset([old]).actions.numpy(), DemoDataset([goal_demos[0]]).actions.numpy())
