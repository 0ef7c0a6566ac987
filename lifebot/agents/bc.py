"""Behaviour cloning from demonstrations: an MLP policy on state observations with the task encoding.

The ``deterministic`` head regresses actions (mean squared error); the ``gaussian`` head maximises the
likelihood of a tanh-squashed Gaussian and acts with its mean unless asked to sample.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from lifebot.agents.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from lifebot.agents.device import resolve_device
from lifebot.agents.networks import GaussianHead, mlp
from lifebot.demos.dataset import DemoDataset, Normalizer, flatten_state
from lifebot.envs.control import DEFAULT_CONTROL_MODE

ACTION_DIM = 7
HEADS = ("deterministic", "gaussian")


@dataclass(frozen=True)
class BCConfig:
    hidden: tuple[int, ...] = (256, 256)
    """Widths of the policy MLP's hidden layers."""
    head: str = "gaussian"
    """``deterministic`` (MSE regression) or ``gaussian`` (tanh-Gaussian likelihood)."""
    learning_rate: float = 1e-3
    """Adam step size."""
    batch_size: int = 256
    """Transitions per gradient step."""
    steps: int = 5000
    """Gradient steps per call to ``learn`` (unless ``learn`` is given another number)."""
    weight_decay: float = 0.0
    """Adam weight decay."""
    seed: int = 0
    """Seeds network initialisation and minibatch sampling."""
    device: str = "auto"
    """``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self):
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")


class BCPolicy(nn.Module):
    def __init__(self, obs_dim: int, config: BCConfig):
        super().__init__()
        width = config.hidden[-1]
        self.trunk = nn.Sequential(mlp(obs_dim, config.hidden[:-1], width), nn.ReLU())
        self.gaussian = config.head == "gaussian"
        self.head = GaussianHead(width, ACTION_DIM) if self.gaussian else nn.Linear(width, ACTION_DIM)

    def loss(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        features = self.trunk(obs)
        if self.gaussian:
            return -self.head.log_prob(features, actions).mean()
        return (torch.tanh(self.head(features)) - actions).pow(2).sum(-1).mean()

    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        features = self.trunk(obs)
        if self.gaussian:
            return self.head.sample(features, deterministic)
        return torch.tanh(self.head(features))


class BCAgent:
    """``learn`` on demonstrations, ``predict`` actions, ``save`` and ``load`` safely."""

    name = "bc"

    def __init__(
        self, config: BCConfig, obs_dim: int, normalizer: Normalizer, control_mode: str = DEFAULT_CONTROL_MODE
    ):
        self.config, self.obs_dim, self.normalizer, self.control_mode = config, obs_dim, normalizer, control_mode
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        self.policy = BCPolicy(obs_dim, config).to(self.device)
        self.optimizer = torch.optim.Adam(
            self.policy.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.rng = np.random.default_rng(config.seed)
        self.gradient_steps = 0

    @classmethod
    def from_dataset(cls, config: BCConfig, dataset: DemoDataset) -> BCAgent:
        return cls(config, dataset.obs_dim, dataset.normalizer, dataset.control_mode)

    def learn(
        self,
        dataset: DemoDataset,
        steps: int | None = None,
        progress: bool = False,
        regularizer: Callable[[], torch.Tensor] | None = None,
    ) -> list[float]:
        """Gradient steps on minibatches of the dataset's (already normalised) transitions; returns the losses.

        ``dataset`` needs only ``obs`` and ``actions`` tensors; ``regularizer`` adds a term to every loss (EWC).
        """
        losses = []
        self.policy.train()
        for _ in tqdm(range(steps or self.config.steps), desc="bc", unit="step", disable=not progress):
            index = torch.from_numpy(self.rng.integers(0, len(dataset.obs), size=self.config.batch_size))
            obs = dataset.obs[index].to(self.device)
            actions = dataset.actions[index].to(self.device)
            loss = self.policy.loss(obs, actions)
            if regularizer is not None:
                loss = loss + regularizer()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            losses.append(float(loss.detach()))
            self.gradient_steps += 1
        return losses

    def predict(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> np.ndarray:
        """Actions for a batch of observation dicts (or a single one), in [-1, 1]."""
        flat = flatten_state(obs)
        single = flat.ndim == 1
        batch = torch.from_numpy(self.normalizer(flat[None] if single else flat)).to(self.device)
        self.policy.eval()
        with torch.no_grad():
            actions = self.policy.act(batch, deterministic).cpu().numpy()
        return actions[0] if single else actions

    __call__ = predict  # an agent is a policy for lifebot.envs.vector.evaluate

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
                "policy": self.policy.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                **self._extra_state(),
            },
        )

    def _extra_state(self) -> dict:
        """What a subclass adds to its checkpoint (tensors and plain data only)."""
        return {}

    def _load_extra_state(self, document: dict) -> None:
        pass

    config_class = BCConfig

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> BCAgent:
        document = load_checkpoint(path)
        if document["agent"] != cls.name:
            raise CheckpointError(path, f"holds a {document['agent']!r} agent, not {cls.name!r}")
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in document["config"].items()}
        config = cls.config_class(**{**fields, **({"device": device} if device else {})})
        normalizer = Normalizer(
            np.asarray(document["normalizer"]["mean"], dtype=np.float32),
            np.asarray(document["normalizer"]["std"], dtype=np.float32),
        )
        agent = cls(config, int(document["obs_dim"]), normalizer, document["control_mode"])
        agent.policy.load_state_dict(document["policy"])
        agent.optimizer.load_state_dict(document["optimizer"])
        agent.gradient_steps = int(document["gradient_steps"])
        agent._load_extra_state(document)
        return agent
