"""Behaviour cloning from demonstrations: an MLP policy on the task encoding and state or camera observations.

Heads: ``deterministic`` regresses actions (mean squared error); ``gaussian`` maximises the likelihood of a
tanh-squashed Gaussian and ``mixture`` that of a mixture of them (robomimic's BC-GMM); both act with their
mean (the most likely component's, for the mixture) unless asked to sample.

Observations: ``state`` policies see the whole normalised state vector; ``image`` policies see each camera in
``image_keys`` through its own small convolutional encoder, concatenated with the normalised proprioception
and task encoding, and not the object slots (simulator state a real robot lacks).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from lifebot.agents.base import Agent, Regularizer
from lifebot.agents.networks import GaussianHead, GaussianMixtureHead, ImageEncoder, mlp
from lifebot.demos.dataset import Normalizer
from lifebot.demos.format import ACTION_DIM
from lifebot.envs.control import DEFAULT_CONTROL_MODE
from lifebot.envs.gym_env import CAMERAS
from lifebot.envs.observations import STATE_KEYS, STATE_SHAPES

HEADS = ("deterministic", "gaussian", "mixture")
OBSERVATIONS = ("state", "image")
IMAGE_STATE_KEYS = ("proprio", "task")  # the state an image policy sees next to its cameras


@dataclass(frozen=True)
class BCConfig:
    hidden: tuple[int, ...] = (256, 256)
    """Widths of the policy MLP's hidden layers."""
    head: str = "gaussian"
    """``deterministic`` (MSE regression), ``gaussian`` (tanh-Gaussian likelihood) or ``mixture`` (a mixture of
    tanh-Gaussians, robomimic's BC-GMM: keeps the modes of multimodal demonstrations apart)."""
    mixture_modes: int = 5
    """Components of the ``mixture`` head (robomimic's default); unused by the other heads."""
    observation: str = "state"
    """``state`` (proprioception, object slots, task encoding) or ``image`` (the ``image_keys`` cameras, with
    proprioception and the task encoding but no object slots; train on demos recorded with images)."""
    image_keys: tuple[str, ...] = tuple(CAMERAS)
    """Cameras an ``image`` policy sees, each through its own encoder (``LifebotEnv(obs_mode="image")`` keys)."""
    encoder_channels: tuple[int, ...] = (32, 64, 64)
    """Output channels of each camera encoder's stride-2 3×3 convolutions (``image`` only)."""
    keypoints: int = 32
    """Spatial-softmax keypoints per camera, two features each (``image`` only)."""
    learning_rate: float = 1e-3
    """Adam step size."""
    batch_size: int = 256
    """Transitions per gradient step."""
    steps: int = 5000
    """Gradient steps per call to ``learn`` (unless ``learn`` is given another number)."""
    weight_decay: float = 0.0
    """Adam weight decay."""
    ema_decay: float = 0.0
    """Act with a running average of the weights, updated after every gradient step with this decay (diffusion
    policy's EMA; 0.999 averages about the last 1,000 steps); 0 acts with the last weights. On the long suite
    the last weights of a constant step size collapse on some seeds and their average does not
    (``docs/baseline_probes.md``). Training always continues from the last weights."""
    seed: int = 0
    """Seeds network initialisation and minibatch sampling."""
    device: str = "auto"
    """``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``."""

    def __post_init__(self):
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {self.head!r}")
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {self.observation!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.mixture_modes < 1:
            raise ValueError(f"mixture_modes must be at least 1, got {self.mixture_modes}")
        if self.observation == "image" and not (self.image_keys and self.encoder_channels and self.keypoints > 0):
            raise ValueError("an image policy needs image_keys, encoder_channels and keypoints > 0")


def state_columns(keys: tuple[str, ...]) -> list[int]:
    """Positions of ``keys`` in the flattened state vector (:func:`~lifebot.demos.dataset.flatten_state`)."""
    offsets, start = {}, 0
    for key in STATE_KEYS:
        size = int(np.prod(STATE_SHAPES[key]))
        offsets[key] = range(start, start + size)
        start += size
    return [i for key in keys for i in offsets[key]]


class BCPolicy(nn.Module):
    """Observations -> (camera encoders) -> MLP trunk -> action head.

    ``loss`` and ``act`` take the normalised state vector and, for image policies, ``images``: camera key ->
    uint8 (B, H, W, 3). A state policy with a ``gaussian`` or ``deterministic`` head is exactly ``trunk`` +
    ``head``, the layout :mod:`lifebot.agents.transfer` moves into SB3.
    """

    def __init__(self, obs_dim: int, config: BCConfig):
        super().__init__()
        columns = self.build_cameras(config.image_keys if config.observation == "image" else (), obs_dim, config)
        in_dim = obs_dim
        if self.image_keys:
            self.register_buffer("state_index", torch.tensor(columns), persistent=False)
            in_dim = len(columns) + sum(encoder.out_dim for encoder in self.encoders.values())
        width = config.hidden[-1]
        self.trunk = nn.Sequential(mlp(in_dim, config.hidden[:-1], width), nn.ReLU())
        self.build_head(width, config)

    def build_cameras(self, image_keys: tuple[str, ...], obs_dim: int, config: BCConfig) -> list[int]:
        """One convolutional encoder per camera of ``image_keys``; returns the state columns that go beside them
        (proprioception and task encoding: the cameras show the objects)."""
        self.image_keys = image_keys
        self.encoders = nn.ModuleDict({k: ImageEncoder(config.encoder_channels, config.keypoints) for k in image_keys})
        if not image_keys:
            return []
        if obs_dim != len(state_columns(STATE_KEYS)):
            raise ValueError(
                f"an image policy takes the full {len(state_columns(STATE_KEYS))}-dim state, got {obs_dim}"
            )
        return state_columns(IMAGE_STATE_KEYS)

    def encode_cameras(self, images: dict[str, torch.Tensor] | None) -> torch.Tensor:
        """The cameras' keypoint features, side by side in ``image_keys`` order."""
        missing = [k for k in self.image_keys if k not in (images or {})]
        if missing:
            raise ValueError(f"this policy sees camera images: pass images= with {missing}")
        return torch.cat([self.encoders[k](images[k]) for k in self.image_keys], dim=-1)

    def build_head(self, width: int, config: BCConfig) -> None:
        """The action head of ``config.head`` on ``width`` features (subclasses with other trunks share it)."""
        self.gaussian = config.head == "gaussian"  # lifebot.agents.transfer reads this
        self.regression = config.head == "deterministic"
        if config.head == "mixture":
            self.head = GaussianMixtureHead(width, ACTION_DIM, config.mixture_modes)
        else:
            self.head = GaussianHead(width, ACTION_DIM) if self.gaussian else nn.Linear(width, ACTION_DIM)

    def features(self, obs: torch.Tensor, images: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        if not self.image_keys:
            return self.trunk(obs)
        return self.trunk(torch.cat([obs.index_select(-1, self.state_index), self.encode_cameras(images)], dim=-1))

    def loss(
        self, obs: torch.Tensor, actions: torch.Tensor, images: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        features = self.features(obs, images)
        if self.regression:
            return (torch.tanh(self.head(features)) - actions).pow(2).sum(-1).mean()
        return -self.head.log_prob(features, actions).mean()

    def act(
        self, obs: torch.Tensor, deterministic: bool = True, images: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        features = self.features(obs, images)
        if self.regression:
            return torch.tanh(self.head(features))
        return self.head.sample(features, deterministic)


class BCAgent(Agent):
    """Behaviour cloning through the agent contract (:mod:`lifebot.agents.base`)."""

    name = "bc"
    config_class = BCConfig
    policy_class = BCPolicy

    def __init__(
        self, config: BCConfig, obs_dim: int, normalizer: Normalizer, control_mode: str = DEFAULT_CONTROL_MODE
    ):
        super().__init__(config, obs_dim, normalizer, control_mode)
        self.policy = self.policy_class(obs_dim, config).to(self.device)
        self.optimizer = torch.optim.Adam(
            self.policy.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.averaged: nn.Module | None = None
        """The running average of ``policy`` (``ema_decay`` > 0), started from it at the first step after the
        weights were set (construction, :meth:`load_policy`)."""

    @property
    def acting_policy(self) -> nn.Module:
        return self.policy if self.averaged is None else self.averaged

    def load_policy(self, state: dict) -> None:
        super().load_policy(state)
        self.averaged = None

    def _average(self) -> None:
        """Move the average a step towards the weights just trained (started from them on the first call)."""
        if not self.config.ema_decay:
            return
        if self.averaged is None:
            self.averaged = copy.deepcopy(self.policy).requires_grad_(False)
            return
        with torch.no_grad():
            for average, weight in zip(self.averaged.parameters(), self.policy.parameters(), strict=True):
                average.lerp_(weight, 1.0 - self.config.ema_decay)
            for average, buffer in zip(self.averaged.buffers(), self.policy.buffers(), strict=True):
                average.copy_(buffer)

    def learn(
        self,
        data,
        steps: int | None = None,
        progress: bool = False,
        regularizer: Regularizer | None = None,
        grad_hook: Callable[[], None] | None = None,
        step_hook: Callable[[], None] | None = None,
    ) -> list[float]:
        """Gradient steps on minibatches of the (already normalised) transitions; returns the losses.

        ``data`` needs ``obs`` and ``actions`` tensors, and for an image policy ``images`` (camera key ->
        uint8 (N, H, W, 3) tensor, as ``DemoDataset(paths, image_keys=...)`` has); ``regularizer`` adds a term
        to every loss (EWC); ``grad_hook`` runs between ``backward`` and the optimizer step (it may rewrite the
        gradients: A-GEM, PackNet) and ``step_hook`` after the step (it may restore frozen weights: PackNet).
        """
        images = self._training_images(data)
        steps = self.config.steps if steps is None else steps  # 0 means none (a strategy's empty stretch)
        losses = []
        self.policy.train()
        for _ in tqdm(range(steps), desc="bc", unit="step", disable=not progress):
            index = torch.from_numpy(self.rng.integers(0, len(data.obs), size=self.config.batch_size))
            obs = data.obs[index].to(self.device)
            actions = data.actions[index].to(self.device)
            loss = self.policy.loss(obs, actions, {k: v[index].to(self.device) for k, v in images.items()})
            if regularizer is not None:
                loss = loss + regularizer()
            self.optimizer.zero_grad()
            loss.backward()
            if grad_hook is not None:
                grad_hook()
            self.optimizer.step()
            if step_hook is not None:
                step_hook()
            self._average()
            losses.append(float(loss.detach()))
            self.gradient_steps += 1
        return losses

    def _training_images(self, dataset) -> dict[str, torch.Tensor]:
        """The image tensors the policy trains on, checked against ``dataset.obs`` (none for a state policy)."""
        keys = self.policy.image_keys
        images = getattr(dataset, "images", None) or {}
        missing = [k for k in keys if k not in images]
        if missing:
            raise ValueError(
                f"this image policy trains on {missing}, which the dataset lacks: record demos with images and "
                f"load them with DemoDataset(paths, image_keys={keys})"
            )
        for key in keys:
            if len(images[key]) != len(dataset.obs):
                raise ValueError(f"dataset.images[{key!r}] has {len(images[key])} rows, obs has {len(dataset.obs)}")
        return {k: images[k] for k in keys}

    def state_dict(self) -> dict:
        state = {"policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict()}
        if self.averaged is not None:
            state["averaged"] = self.averaged.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.averaged = None
        if "averaged" in state:  # absent: written without an average, which restarts at the next step
            self.averaged = copy.deepcopy(self.policy).requires_grad_(False)
            self.averaged.load_state_dict(state["averaged"])
