"""The strategies lifebot started with: sequential fine-tuning, ER, EWC, multitask and single-task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lifebot.lifelong.strategies.base import Strategy, StrategyConfig, Transitions, strategy


@strategy("sequential")
class SequentialFinetuning(Strategy):
    """Every hook at its default: plain fine-tuning on each new task (the forgetting baseline)."""


@dataclass(frozen=True)
class ERConfig(StrategyConfig):
    memory_per_task: int = 1000
    """Transitions of each finished task kept in the replay store (sampled uniformly without replacement)."""

    def __post_init__(self):
        if self.memory_per_task < 1:
            raise ValueError(f"memory_per_task must be at least 1, got {self.memory_per_task}")


@strategy("er", ERConfig)
class ExperienceReplay(Strategy):
    """Experience replay: a bounded store of earlier tasks' transitions is mixed into every batch."""

    def __init__(self, agent_factory, config=None, seed: int = 0):
        super().__init__(agent_factory, config, seed)
        self.memory: list[Transitions] = []
        self.rng = np.random.default_rng(seed)

    def training_data(self, current: Transitions) -> Transitions:
        return Transitions.concat([current, *self.memory])

    def end_task(self, current: Transitions) -> None:
        size = min(self.config.memory_per_task, len(current))
        keep = self.rng.choice(len(current), size=size, replace=False)
        keep = torch.from_numpy(keep)
        self.memory.append(current.subset(keep))

    def state_dict(self) -> dict:
        return {"memory": [vars(part) for part in self.memory], "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.memory = [Transitions(**part) for part in state["memory"]]
        self.rng.bit_generator.state = state["rng"]


@dataclass(frozen=True)
class EWCConfig(StrategyConfig):
    ewc_lambda: float = 100.0
    """Weight of the quadratic penalty (half of it multiplies the Fisher-weighted squared distance)."""
    fisher_batches: int = 20
    """Minibatches of the finished task over which the diagonal Fisher is averaged."""
    batch_size: int = 256
    """Transitions per Fisher minibatch."""

    def __post_init__(self):
        if self.ewc_lambda < 0 or self.fisher_batches < 1 or self.batch_size < 1:
            raise ValueError(f"ewc needs ewc_lambda >= 0, fisher_batches >= 1, batch_size >= 1, got {self}")


@strategy("ewc", EWCConfig)
class ElasticWeightConsolidation(Strategy):
    """Elastic weight consolidation: a diagonal-Fisher penalty holds weights important to earlier tasks."""

    def __init__(self, agent_factory, config=None, seed: int = 0):
        super().__init__(agent_factory, config, seed)
        self.anchors: list[tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]] = []

    def penalty(self) -> torch.Tensor:
        total = torch.zeros((), device=self.agent.device)
        for params, fisher in self.anchors:
            for name, parameter in self.agent.policy.named_parameters():
                total = total + (fisher[name] * (parameter - params[name]).pow(2)).sum()
        return 0.5 * self.config.ewc_lambda * total

    def regularizer(self) -> Callable[[], torch.Tensor] | None:
        return self.penalty if self.anchors else None

    def end_task(self, current: Transitions) -> None:
        """Anchor the weights learned for this task, weighted by the diagonal Fisher of its imitation loss."""
        policy, device = self.agent.policy, self.agent.device
        fisher = {n: torch.zeros_like(p) for n, p in policy.named_parameters()}
        rng = np.random.default_rng(self.seed + len(self.anchors))
        batches, size = self.config.fisher_batches, self.config.batch_size
        for _ in range(batches):
            batch = current.subset(torch.from_numpy(rng.integers(0, len(current), size=size)))
            images = {k: v.to(device) for k, v in batch.images.items()}
            policy.zero_grad()
            policy.loss(batch.obs.to(device), batch.actions.to(device), images).backward()
            for n, p in policy.named_parameters():
                if p.grad is not None:
                    fisher[n] += p.grad.detach().pow(2) / batches
        params = {n: p.detach().clone() for n, p in policy.named_parameters()}
        self.anchors.append((params, fisher))

    def state_dict(self) -> dict:
        return {"anchors": [list(anchor) for anchor in self.anchors]}

    def load_state_dict(self, state: dict) -> None:
        self.anchors = [tuple(anchor) for anchor in state["anchors"]]


@strategy("multitask")
class Multitask(Strategy):
    """Train on the union of every task seen so far (the upper bound)."""

    def __init__(self, agent_factory, config=None, seed: int = 0):
        super().__init__(agent_factory, config, seed)
        self.seen: list[Transitions] = []

    def start_task(self, current: Transitions) -> None:
        self.seen.append(current)

    def training_data(self, current: Transitions) -> Transitions:
        return Transitions.concat(self.seen)

    def state_dict(self) -> dict:
        return {"seen": [vars(part) for part in self.seen]}

    def load_state_dict(self, state: dict) -> None:
        self.seen = [Transitions(**part) for part in state["seen"]]


@strategy("single_task")
class SingleTask(Strategy):
    """A fresh agent per task (the reference that forward-transfer metrics compare against)."""

    def start_task(self, current: Transitions) -> None:
        self.agent = self.agent_factory()
