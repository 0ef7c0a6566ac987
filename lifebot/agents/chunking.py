"""Action chunking with temporal ensembling (ACT-style) on an MLP: the temporal imitation baseline.

The policy predicts the next ``chunk`` actions from one observation (L1 loss on every step of the chunk, as ACT
trains). Acting, it predicts a chunk at every step and executes the average of all predictions made for the
current step, the oldest weighted most (ACT's temporal ensemble, ``w_i = exp(-ensemble_decay * i)`` with i = 0
the oldest). Committing to chunks smooths the pauses and gripper switches that single-step imitation of a
scripted expert gets wrong; the ensemble keeps it closed-loop.

A chunking agent keeps state per episode (the predictions still pending). ``predict`` takes ``episodes`` (an
id per row) and ``steps`` (the step of each row's episode): step 0 starts that episode afresh, so results never
depend on which worker ran an episode or what else was in the batch. Without them, rows are taken as one
episode each, continued from call to call (a single environment, or a fixed set of them) until ``reset()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lifebot.agents.bc import ACTION_DIM, BCAgent, BCConfig, BCPolicy


@dataclass(frozen=True)
class ChunkingConfig(BCConfig):
    head: str = "deterministic"
    """Chunking regresses the actions (``deterministic``; the other heads do not apply)."""
    chunk: int = 10
    """Actions predicted per observation (0.5 s at 20 Hz)."""
    ensemble_decay: float = 0.1
    """Temporal ensemble: the i-th oldest prediction for a step weighs exp(-m·i) (ACT's m, which weighs the oldest
    most); 0 averages the predictions equally, and a negative m weighs the newest most (on a long-suite task it
    kept a grasp that ACT's weighting let go: ``docs/baseline_probes.md``)."""

    def __post_init__(self):
        super().__post_init__()
        if self.head != "deterministic":
            raise ValueError(
                f"a chunking policy regresses its actions: head must be 'deterministic', got {self.head!r}"
            )
        if self.chunk < 1 or not math.isfinite(self.ensemble_decay):
            raise ValueError(f"chunk must be >= 1 and ensemble_decay finite, got {self.chunk}, {self.ensemble_decay}")


@dataclass
class ActionChunks:
    """Demonstration transitions whose ``actions`` are (N, chunk, 7): each step's label and the chunk-1 labels
    after it in its demo, the demo's last label repeated past its end."""

    obs: torch.Tensor
    actions: torch.Tensor
    images: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset, chunk: int) -> ActionChunks:
        ends = np.flatnonzero(dataset.dones.numpy())  # the last step of each demo
        last = np.repeat(ends, np.diff(np.concatenate([[-1], ends])))  # each step's demo end
        index = np.minimum(np.arange(len(last))[:, None] + np.arange(chunk)[None], last[:, None])
        return cls(dataset.obs, dataset.actions[torch.from_numpy(index)], dict(dataset.images))


class ChunkingPolicy(BCPolicy):
    """BC's observation encoders and trunk; the head outputs ``chunk`` actions."""

    def build_head(self, width: int, config: ChunkingConfig) -> None:
        """``chunk`` actions on ``width`` features (a policy with another trunk gets this head by inheriting)."""
        super().build_head(width, config)  # BC's regression head first: the same initialisation as ever
        self.chunk = config.chunk
        self.head = nn.Linear(width, ACTION_DIM * config.chunk)

    def act(self, obs, deterministic: bool = True, images=None) -> torch.Tensor:
        """(B, chunk, 7) actions in [-1, 1]."""
        return torch.tanh(self.head(self.features(obs, images))).view(-1, self.chunk, ACTION_DIM)

    def loss(self, obs, actions, images=None) -> torch.Tensor:
        """L1 over the chunk; ``actions`` is (B, chunk, 7) (:class:`ActionChunks`)."""
        if actions.dim() != 3 or actions.shape[1] != self.chunk:
            raise ValueError(
                f"a chunking policy trains on (batch, {self.chunk}, 7) action chunks, got {tuple(actions.shape)}: "
                "train on agent.transitions(dataset)"
            )
        return (self.act(obs, images=images) - actions).abs().sum(-1).mean()


class ChunkingAgent(BCAgent):
    """Trains like BC on action chunks; acts with a temporal ensemble per episode."""

    name = "chunking"
    config_class = ChunkingConfig
    policy_class = ChunkingPolicy
    stateful = True

    def __init__(self, config: ChunkingConfig, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self._pending: dict[int, list[tuple[int, np.ndarray]]] = {}  # episode -> (step made, chunk)
        self._next_step: dict[int, int] = {}

    def reset(self) -> None:
        self._pending.clear()
        self._next_step.clear()

    def transitions(self, dataset) -> ActionChunks:
        return ActionChunks.of(dataset, self.config.chunk)

    def predict(self, obs, deterministic: bool = True, episodes=None, steps=None) -> np.ndarray:
        chunks = super().predict(obs, deterministic)
        single = chunks.ndim == 2
        chunks = chunks[None] if single else chunks
        rows = len(chunks)
        episodes = list(range(rows)) if episodes is None else [int(e) for e in np.atleast_1d(episodes)]
        if steps is None:
            steps = [self._next_step.get(e, 0) for e in episodes]
        actions = np.empty((rows, ACTION_DIM), dtype=np.float32)
        for row, (episode, step) in enumerate(zip(episodes, np.atleast_1d(steps), strict=True)):
            step = int(step)
            earlier = [] if step == 0 else self._pending.get(episode, [])  # first seen later: starts here too
            pending = [(made, chunk) for made, chunk in earlier if step - made < self.config.chunk]
            pending.append((step, chunks[row]))
            self._pending[episode] = pending
            self._next_step[episode] = step + 1
            exponents = -self.config.ensemble_decay * np.arange(len(pending))  # oldest first
            weights = np.exp(exponents - exponents.max())  # the same ratios, and no overflow for any m
            votes = np.stack([chunk[step - made] for made, chunk in pending])
            actions[row] = (weights[:, None] * votes).sum(0) / weights.sum()
        return actions[0] if single else actions

    __call__ = predict
