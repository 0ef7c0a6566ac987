"""Encoder pretraining on real demonstrations: each objective, frozen and fine-tuned encoders, and the runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from lifebot.agents.bc import BCAgent, BCConfig, state_columns
from lifebot.agents.idm import OBJECTIVES, IDMAgent, IDMConfig, encoder_columns
from lifebot.agents.idm_chunking import IDMChunkingAgent
from lifebot.agents.registry import load_agent
from lifebot.configs import ConfigError
from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.dataset import DemoDataset
from lifebot.envs.observations import MAX_OBJECTS, SLOT_EEF_RELATIVE, SLOT_SIZE
from lifebot.lifelong.executors import ExecutionConfig, execute_run
from lifebot.lifelong.results import unit_dir
from lifebot.lifelong.runner import RunConfig
from lifebot.suites.store import load_suite

MODE = "pd_ee_delta_pose"
TINY = dict(hidden=(32, 32), policy_hidden=(32,), idm_hidden=(32,), batch_size=32, device="cpu")


def config_file(path: Path, **fields) -> str:
    """An agent config file of TINY with ``fields`` (YAML has lists, not tuples)."""
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in {**TINY, **fields}.items()}
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture(scope="module")
def demos_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demos")
    tasks = tuple(load_suite("spatial").task_names[:2])
    collect(CollectConfig(suite="spatial", tasks=tasks, num_demos=2, workers=1, control_mode=MODE, out=out), False)
    return out


@pytest.fixture(scope="module")
def pool(demos_dir) -> DemoDataset:
    return DemoDataset(sorted((demos_dir / "spatial").glob("*.hdf5")))


def trunk(agent) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in agent.policy.trunk.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("encoder_input", ["no_proprio", "objects"])
def test_the_encoder_sees_nothing_of_the_robots_proprioception(pool, encoder_input):
    seen = set(encoder_columns(encoder_input, pool.obs_dim))
    assert not seen & set(state_columns(("proprio",)))
    if encoder_input == "objects":  # nor the arm relative to the objects, nor the task
        objects = state_columns(("objects",))
        relative = {objects[s * SLOT_SIZE + i] for s in range(MAX_OBJECTS) for i in SLOT_EEF_RELATIVE}
        assert not seen & relative and not seen & set(state_columns(("task",)))
        assert len(seen) == MAX_OBJECTS * (SLOT_SIZE - 3)
    # what φ computes on real observations is unchanged when the columns it does not see change
    agent = IDMAgent.from_dataset(IDMConfig(**{**TINY, "encoder_input": encoder_input}), pool)
    obs = pool.obs[:64]
    moved = obs.clone()
    moved[:, sorted(set(range(pool.obs_dim)) - seen)] += torch.randn(64, pool.obs_dim - len(seen))
    with torch.no_grad():
        assert torch.equal(agent.policy.encode(obs), agent.policy.encode(moved))


@pytest.mark.parametrize("cls", [IDMAgent, IDMChunkingAgent], ids=lambda cls: cls.name)
@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_each_objective_pretrains_and_its_encoder_loads_into_the_fine_tuning_agent(cls, objective, pool, tmp_path):
    agent = cls.from_dataset(cls.config_class(objective=objective, freeze_encoder=objective != "none", **TINY), pool)
    before = trunk(agent)
    losses = agent.pretrain(pool, steps=60)
    if OBJECTIVES[objective].trains:
        assert np.mean(losses[-10:]) < np.mean(losses[:10]) and not same(before, trunk(agent))
    else:
        assert losses == [] and same(before, trunk(agent))
    pretrained = cls.load(agent.save(tmp_path / "pretrained.pt"))
    assert same(trunk(pretrained), trunk(agent)) and pretrained.config.objective == objective

    for frozen in (True, False) if objective != "none" else (False,):
        tuned = cls.fine_tuning(pretrained, freeze_encoder=frozen, seed=1)
        assert same(trunk(tuned), trunk(pretrained)) and tuned.normalizer is pretrained.normalizer
        head = {k: v.clone() for k, v in tuned.policy.head.state_dict().items()}
        tuned.learn(tuned.transitions(pool), steps=15)
        assert same(trunk(tuned), trunk(pretrained)) == frozen  # frozen: bit-identical; else it learns
        assert not same(head, tuned.policy.head.state_dict())


def test_only_the_whole_state_layout_moves_into_sac(pool):
    from lifebot.agents.transfer import copy_actor_into_sac

    split = IDMAgent.from_dataset(IDMConfig(**TINY), pool)
    with pytest.raises(ValueError, match="sees part of the state through its encoder"):
        copy_actor_into_sac(split.policy, sac_policy=None)
    whole = IDMAgent.from_dataset(IDMConfig(**{**TINY, "encoder_input": "state", "policy_hidden": ()}), pool)
    bc = BCAgent.from_dataset(BCConfig(hidden=TINY["hidden"], device="cpu"), pool)
    shapes = lambda agent: [(n, p.shape) for n, p in agent.policy.named_parameters()]  # noqa: E731
    assert whole.policy.transferable and shapes(whole) == shapes(bc)  # BC's state policy, parameter for parameter


def test_multistep_inverse_dynamics_stays_inside_each_demonstration(pool):
    agent = IDMAgent.from_dataset(IDMConfig(gap=5, **TINY), pool)
    assert len(agent.pretrain(pool, steps=5)) == 5
    longest = int(max(pool.episode_end - torch.arange(len(pool.obs)))) + 1
    with pytest.raises(ValueError, match="longer than gap"):
        IDMAgent.from_dataset(IDMConfig(gap=longest + 1, **TINY), pool).pretrain(pool, steps=1)
    with pytest.raises(ValueError, match="freezing it learns on random features"):
        IDMConfig(objective="none")


def test_a_checkpoint_from_before_encoder_inputs_loads_as_the_whole_state_trunk(pool, tmp_path):
    agent = IDMAgent.from_dataset(IDMConfig(**{**TINY, "encoder_input": "state", "policy_hidden": ()}), pool)
    document = torch.load(agent.save(tmp_path / "new.pt"), weights_only=True)
    for field in ("objective", "encoder_input", "gap", "policy_hidden"):
        del document["config"][field]
    document["inverse_head"] = document.pop("pretrain_head")
    torch.save(document, tmp_path / "old.pt")
    old = IDMAgent.load(tmp_path / "old.pt")
    assert old.config.encoder_input == "state" and same(trunk(old), trunk(agent))


def tiny_run(demos_dir: Path, **changes) -> RunConfig:
    return RunConfig(
        **{
            "suite": "spatial",
            "agent": "idm",
            "tasks": 2,
            "demos_per_task": 2,
            "steps_per_task": 10,
            "eval_points": 1,
            "episodes": 1,
            "control_mode": MODE,
            "demos_dir": str(demos_dir),
            **changes,
        }
    )


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_each_pretrained_encoder_starts_a_lifelong_run(objective, demos_dir, pool, tmp_path):
    """inverse_dynamics: as pretrained (frozen); multitask_bc: its config overridden to fine-tune the encoder;
    none: scratch, which needs no checkpoint."""
    frozen = objective == "inverse_dynamics"
    agent = IDMAgent.from_dataset(IDMConfig(objective=objective, freeze_encoder=frozen, **TINY), pool)
    agent.pretrain(pool, steps=20)
    checkpoint = agent.save(tmp_path / "pretrained.pt")
    changes = {} if objective == "none" else {"init_checkpoint": str(checkpoint)}
    if objective != "inverse_dynamics":
        fine_tune = config_file(tmp_path / "fine_tune.yaml", objective=objective, freeze_encoder=False)
        changes["agent_config"] = fine_tune
    unit = execute_run(tiny_run(demos_dir, **changes), tmp_path / "run", ExecutionConfig(workers=1)).units[0]
    assert unit.finished
    final = load_agent(unit_dir(tmp_path / "run", 0, 0) / "checkpoints" / "task_1.pt")
    assert final.config.freeze_encoder == frozen and final.gradient_steps == 20
    if objective != "none":
        assert same(trunk(final), trunk(agent)) == frozen


def test_the_runner_refuses_what_does_not_fit(demos_dir, pool, tmp_path):
    from lifebot.agents.pretrain import PretrainConfig

    for agent in ("idm", "idm_chunking"):
        with pytest.raises(ConfigError, match=f"agent {agent} needs init_checkpoint"):
            tiny_run(demos_dir, agent=agent)
    with pytest.raises(ConfigError, match="agent.*one of idm, idm_chunking"):
        PretrainConfig(agent="chunking")  # no encoder to pretrain
    checkpoint = IDMAgent.from_dataset(IDMConfig(**TINY), pool).save(tmp_path / "pretrained.pt")
    wider = config_file(tmp_path / "wider.yaml", hidden=(64, 64))
    with pytest.raises(ValueError, match="wider.yaml: does not fit"):
        execute_run(tiny_run(demos_dir, init_checkpoint=str(checkpoint), agent_config=wider), tmp_path / "r")
    image = IDMConfig(**{**TINY, "observation": "image", "encoder_input": "images", "encoder_channels": (8,)})
    image_checkpoint = IDMAgent.from_dataset(image, pool).save(tmp_path / "image.pt")
    with pytest.raises(ValueError, match="image.pt: a policy on image observations; lifebot run learns from state"):
        execute_run(tiny_run(demos_dir, init_checkpoint=str(image_checkpoint)), tmp_path / "r")


@pytest.mark.parametrize("agent", ["idm", "idm_chunking"])
def test_lifebot_pretrain_writes_a_checkpoint_the_runner_starts_from(agent, demos_dir, tmp_path, capsys):
    from lifebot.cli.main import main

    common = ["pretrain", "--suite", "spatial", "--tasks", "2", "--demos", "2", "--steps", "15", "--seed", "3"]
    common += ["--agent", agent, "--workers", "1", "--control-mode", MODE, "--demos-dir", str(demos_dir)]
    tiny = config_file(tmp_path / "tiny.yaml")
    assert main([*common, "--agent-config", tiny, "--out", str(tmp_path / "encoder.pt")]) == 0
    assert f"lifebot run --agent {agent} --init-checkpoint" in capsys.readouterr().out
    pretrained = load_agent(tmp_path / "encoder.pt")
    assert pretrained.name == agent
    record = json.loads((tmp_path / "encoder.json").read_text())
    assert pretrained.config.seed == 3 and pretrained.config.idm_steps == 15
    assert record["pool"]["tasks"] == load_suite("spatial").task_names[:2] and set(record["loss"]) == {"first", "last"}
    assert record["versions"]["mujoco"]
    run = tiny_run(demos_dir, agent=agent, init_checkpoint=str(tmp_path / "encoder.pt"))
    unit = execute_run(run, tmp_path / "run", ExecutionConfig(workers=1)).units[0]
    final = load_agent(unit_dir(tmp_path / "run", 0, 0) / "checkpoints" / "task_1.pt")
    assert unit.finished and same(trunk(final), trunk(pretrained))  # frozen through the run

    scratch = config_file(tmp_path / "scratch.yaml", objective="none", freeze_encoder=False)
    assert main([*common, "--agent-config", scratch, "--out", str(tmp_path / "none.pt")]) == 2
    assert "scratch.yaml: objective none has nothing to pretrain" in capsys.readouterr().err
    assert not (tmp_path / "none.pt").exists()


def test_lifebot_pretrain_collects_camera_demos_for_an_image_encoder(tmp_path, monkeypatch, capsys):
    from lifebot.cli.main import main

    monkeypatch.setenv("MUJOCO_GL", "egl")
    image = dict(observation="image", encoder_input="images", encoder_channels=[8], keypoints=4, batch_size=8)
    agent_config = config_file(tmp_path / "image.yaml", **image)
    args = ["pretrain", "--suite", "spatial", "--tasks", "1", "--demos", "1", "--steps", "5", "--image-size", "32"]
    args += ["--workers", "1", "--control-mode", MODE, "--demos-dir", str(tmp_path / "demos")]
    assert main([*args, "--agent-config", agent_config, "--out", str(tmp_path / "encoder.pt")]) == 0
    pretrained = IDMAgent.load(tmp_path / "encoder.pt")
    assert pretrained.policy.image_keys and pretrained.config.idm_steps == 5
    (demo_file,) = (tmp_path / "demos" / "spatial").glob("*.hdf5")
    images = DemoDataset([demo_file], image_keys=pretrained.policy.image_keys).images
    assert all(v.shape[1:] == (32, 32, 3) for v in images.values())
    assert json.loads((tmp_path / "encoder.json").read_text())["config"]["image_size"] == 32
    assert "pretrained inverse_dynamics on 1 spatial tasks" in capsys.readouterr().out
