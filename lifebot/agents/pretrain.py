"""Encoder pretraining on a suite's demonstrations: the checkpoint ``lifebot run --init-checkpoint`` starts from
(state encoders; an encoder on camera images is for ``benchmarks/idm_vs_scratch.py``: the runner learns from state).

Why a step of its own: a pretrained encoder is made once on the pool (the ``pretrain`` suite, as LIBERO-90 feeds
LIBERO-10) and then shared by every unit of every lifelong run that compares with and without it, so the runs
differ only in where the encoder came from. The checkpoint is an ``idm`` agent (:mod:`lifebot.agents.idm`) whose
policy head is untrained; beside it, ``<checkpoint>.json`` records the pool, the losses and the versions.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifebot.configs import require
from lifebot.envs.control import CONTROL_MODES, DEFAULT_CONTROL_MODE


@dataclass(frozen=True)
class PretrainConfig:
    """What an encoder is pretrained on, and for how long."""

    suite: str = "pretrain"
    """Suite whose tasks' demonstrations form the pool (``task_suites/<suite>``)."""
    tasks: int = 0
    """Pretrain on the suite's first N tasks; 0 means all."""
    demos_per_task: int = 10
    """Scripted-expert demonstrations per pool task (collected into ``demos_dir`` when missing)."""
    agent: str = "idm"
    """The agent the checkpoint is (``idm``, or ``idm_chunking`` for an action-chunking policy on the encoder):
    a run from it names the same ``--agent``."""
    agent_config: str = ""
    """YAML file with the agent's config (default ``policies/<agent>.yaml``): objective, encoder input, widths."""
    steps: int = 0
    """Pretraining gradient steps; 0 takes the agent config's ``idm_steps``."""
    seed: int = 0
    """Seed of the encoder's initialisation and minibatches (replaces the agent config's)."""
    control_mode: str = DEFAULT_CONTROL_MODE
    """Control mode of the demonstrations (and of the runs that start from the checkpoint)."""
    demos_dir: str = "demos"
    """Where demonstrations are read from, and collected into when missing (image demos need a folder of
    their own: a task's file holds one kind)."""
    image_size: int = 64
    """Side of the camera images, in pixels, recorded for an encoder on images (``encoder_input: images``)."""
    workers: int = os.cpu_count() or 1
    """Collection processes."""

    def __post_init__(self):
        from lifebot.agents.registry import encoder_agents

        require(
            self,
            {
                "agent": (self.agent in encoder_agents(), f"one of {', '.join(encoder_agents())}"),
                "tasks": (self.tasks >= 0, "at least 0"),
                "demos_per_task": (self.demos_per_task >= 1, "at least 1"),
                "steps": (self.steps >= 0, "at least 0"),
                "control_mode": (self.control_mode in CONTROL_MODES, f"one of {', '.join(CONTROL_MODES)}"),
                "workers": (self.workers >= 1, "at least 1"),
                "image_size": (self.image_size >= 16, "at least 16"),
            },
        )


def loss_summary(losses: list[float]) -> dict[str, float]:
    """Mean loss over the first and the last window (a tenth of the steps, at most 50): how far it fell."""
    if not losses:
        return {}
    window = max(1, min(50, len(losses) // 10))
    return {"first": float(np.mean(losses[:window])), "last": float(np.mean(losses[-window:]))}


def pretrain_encoder(config, pool, progress: bool = True, agent: str = "idm"):
    """An ``agent`` (``idm`` or a subclass) of ``config`` with its encoder trained on ``pool`` (a DemoDataset),
    and the losses."""
    from lifebot.agents.registry import agent_class

    pretrained = agent_class(agent).from_dataset(config, pool)
    return pretrained, pretrained.pretrain(pool, progress=progress)


def pretrain_checkpoint(config: PretrainConfig, out: str | Path) -> dict:
    """Collect the pool, pretrain the encoder and write the checkpoint to ``out`` (atomically); returns the record
    written beside it."""
    from lifebot.agents.registry import load_agent_config
    from lifebot.atomic import atomic_write_json
    from lifebot.demos.collect import CollectConfig, collect
    from lifebot.demos.dataset import DemoDataset
    from lifebot.suites.store import load_suite
    from lifebot.versions import versions

    suite = load_suite(config.suite)
    if config.tasks > len(suite.tasks):
        raise ValueError(f"suite {suite.name} has {len(suite.tasks)} tasks, asked for {config.tasks}")
    tasks = suite.task_names[: config.tasks or None]
    agent_config = load_agent_config(config.agent, config.agent_config or None)
    agent_config = dataclasses.replace(agent_config, seed=config.seed, idm_steps=config.steps or agent_config.idm_steps)
    if agent_config.objective == "none":
        source = config.agent_config or f"policies/{config.agent}.yaml"
        raise ValueError(f"{source}: objective none has nothing to pretrain")
    demos = CollectConfig(
        suite=suite.name,
        tasks=tuple(tasks),
        num_demos=config.demos_per_task,
        workers=config.workers,
        control_mode=config.control_mode,
        out=Path(config.demos_dir),
        images=agent_config.observation == "image",
        image_size=config.image_size,
    )
    image_keys = agent_config.image_keys if demos.images else ()
    pool = DemoDataset(collect(demos), max_demos_per_file=config.demos_per_task, image_keys=image_keys)
    agent, losses = pretrain_encoder(agent_config, pool, agent=config.agent)
    path = agent.save(out)
    record = {
        "checkpoint": str(path),
        "pool": {"suite": suite.name, "suite_version": suite.version, "tasks": tasks, "transitions": len(pool.obs)},
        "config": dataclasses.asdict(config),
        "agent_config": dataclasses.asdict(agent_config),
        "loss": loss_summary(losses),
        "versions": versions(),
    }
    atomic_write_json(path.with_suffix(".json"), record)
    return record
