"""The agent contract: what the lifelong runner and the strategies may ask of any lifebot agent, and nothing more.

An agent is built from ``(config, obs_dim, normalizer, control_mode)`` and

- ``transitions(dataset)``: the demonstration data it learns from (obs and actions; RL agents add next
  observations, rewards, dones and Monte-Carlo returns as ``extras``);
- ``learn(data, steps, regularizer)``: gradient steps on those transitions; returns the losses;
- ``predict(obs)`` / ``__call__``: actions for observation dicts (an agent is a policy for evaluation), from
  ``acting_policy`` (``policy``, or BC's running average of it); ``load_policy(state)`` sets the weights both
  train and act with;
- ``policy``: the module holding the parameters a regulariser constrains, with ``policy.loss(obs, actions,
  images)`` the supervised loss its importance weights come from (EWC's Fisher) and ``policy.act``;
- ``learn_online(env, steps, ...)``: only for agents with ``online = True``, fine-tuning by interaction;
- ``save(path)`` / ``load(path)``: weights, optimizers and every random state it draws from, so a run
  resumed from a checkpoint continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from lifebot.agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from lifebot.agents.device import resolve_device
from lifebot.demos.dataset import Normalizer, flatten_state
from lifebot.envs.control import DEFAULT_CONTROL_MODE

Regularizer = Callable[[], torch.Tensor]


class Agent(abc.ABC):
    """Base of every lifebot agent; a subclass sets ``name`` and ``config_class`` (its typed config)."""

    name: ClassVar[str]
    config_class: ClassVar[type]
    online: ClassVar[bool] = False
    """True for agents that fine-tune by interaction (``learn_online``) after learning from demonstrations."""
    stateful: ClassVar[bool] = False
    """True for agents whose ``predict`` keeps per-episode state: it then takes ``episodes=`` and ``steps=``
    (evaluation passes them), or, without them, continues one stream per row until :meth:`reset`."""
    default_config: ClassVar[str] = ""
    """File under ``policies/`` holding the default config (empty: ``<name>.yaml``)."""
    policy: nn.Module

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not (isinstance(getattr(cls, "name", None), str) and hasattr(cls, "config_class")):
            raise TypeError(f"agent {cls.__name__} must set name and config_class")

    def __init__(self, config, obs_dim: int, normalizer: Normalizer, control_mode: str = DEFAULT_CONTROL_MODE) -> None:
        self.config, self.obs_dim, self.normalizer, self.control_mode = config, obs_dim, normalizer, control_mode
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.gradient_steps = 0

    @classmethod
    def from_dataset(cls, config, dataset) -> Agent:
        return cls(config, dataset.obs_dim, dataset.normalizer, dataset.control_mode)

    def transitions(self, dataset):
        """What ``learn`` trains on, from a :class:`~lifebot.demos.dataset.DemoDataset` (default: as it is)."""
        return dataset

    @abc.abstractmethod
    def learn(
        self, data, steps: int | None = None, progress: bool = False, regularizer: Regularizer | None = None
    ) -> list[float]:
        """Gradient steps on ``data`` (``obs``, ``actions``, ``images``, ``extras``); ``regularizer`` adds a term
        to the loss of the parameters of ``policy``. Returns the losses."""

    def learn_online(
        self,
        env,
        steps: int,
        eval_points: Sequence[int] = (),
        evaluate: Callable[[int], float] | None = None,
        offline=None,
    ) -> list[float]:
        """``steps`` environment steps of fine-tuning in ``env``, with ``evaluate(step)`` at ``eval_points``;
        ``offline`` (transitions) is replayed beside the online data when given. Returns the losses."""
        raise NotImplementedError(f"agent {self.name!r} learns from demonstrations only (online = False)")

    def reset(self) -> None:
        """Forget per-episode state (a stateful agent's new episodes start here); nothing for the others."""
        return None

    def predict(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observation dicts (or a single one), in [-1, 1]."""
        flat = flatten_state(obs)
        single = flat.ndim == 1
        batch = torch.from_numpy(self.normalizer(flat[None] if single else flat)).to(self.device)
        images = {}
        for key in getattr(self.policy, "image_keys", ()):
            image = np.ascontiguousarray(obs[key], dtype=np.uint8)
            images[key] = torch.from_numpy(image[None] if single else image).to(self.device)
        policy = self.acting_policy
        policy.eval()
        with torch.no_grad():
            actions = policy.act(batch, deterministic, images).cpu().numpy()
        return actions[0] if single else actions

    @property
    def acting_policy(self) -> nn.Module:
        """The module ``predict`` acts with: ``policy`` itself, or an agent's average of its weights."""
        return self.policy

    def load_policy(self, state: dict) -> None:
        """Load weights into ``policy``, which then also acts (an agent's running average restarts there)."""
        self.policy.load_state_dict(state)

    def restart_optimizer(self) -> None:
        """A new optimizer over the same parameters with the same settings: the moments of what it learnt before
        are dropped (a lifelong run's ``fresh_optimizer``, LIBERO's ``start_task``)."""
        old = self.optimizer
        self.optimizer = type(old)([dict(group) for group in old.param_groups], **old.defaults)

    def __call__(self, obs, deterministic: bool = True) -> np.ndarray:  # a policy for lifebot.envs.vector.evaluate
        return self.predict(obs, deterministic)

    @abc.abstractmethod
    def state_dict(self) -> dict:
        """Networks, optimizers and counters (tensors and plain data only)."""

    @abc.abstractmethod
    def load_state_dict(self, state: dict) -> None: ...

    def random_state(self) -> dict:
        return {"generator": self.rng.bit_generator.state, "torch": torch.get_rng_state()}

    def set_random_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["generator"]
        torch.set_rng_state(state["torch"])

    def save(self, path: str | Path) -> Path:
        return save_checkpoint(
            path,
            self.name,
            {
                "config": dataclasses.asdict(self.config),
                "obs_dim": self.obs_dim,
                "normalizer": self.normalizer.state_dict(),
                "control_mode": self.control_mode,
                "gradient_steps": self.gradient_steps,
                "random_state": self.random_state(),
                **self.state_dict(),
            },
        )

    @classmethod
    def upgrade_config(cls, fields: dict) -> dict:
        """A checkpoint's config fields, with what older checkpoints lacked filled in as they meant it (whenever a
        new field's default differs from what such a checkpoint was trained with)."""
        return fields

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> Agent:
        """The agent saved at ``path``, random states included (checkpoints from before they were saved load
        without them)."""
        document = load_checkpoint(path)
        if document["agent"] != cls.name:
            raise CheckpointError(path, f"holds a {document['agent']!r} agent, not {cls.name!r}")
        fields = cls.upgrade_config({k: tuple(v) if isinstance(v, list) else v for k, v in document["config"].items()})
        config = cls.config_class(**{**fields, **({"device": device} if device else {})})
        normalizer = Normalizer(
            np.asarray(document["normalizer"]["mean"], dtype=np.float32),
            np.asarray(document["normalizer"]["std"], dtype=np.float32),
        )
        agent = cls(config, int(document["obs_dim"]), normalizer, document["control_mode"])
        agent.load_state_dict(document)
        agent.gradient_steps = int(document["gradient_steps"])
        if "random_state" in document:
            agent.set_random_state(document["random_state"])
        return agent
