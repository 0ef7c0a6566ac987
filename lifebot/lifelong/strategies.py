"""Lifelong-learning strategies: how an agent learns task k of a sequence given what it learned before.

One registry (:data:`STRATEGIES`). Each strategy wraps a lifebot offline agent (``BCAgent`` or ``IDMAgent``)
and sees the tasks one at a time through :meth:`Strategy.learn_task`. Datasets must share the agent's
normalizer (``DemoDataset(paths, normalizer=agent.normalizer)``), so observations mean the same across tasks.

- ``sequential``: fine-tune on each new task (the forgetting baseline).
- ``er``: experience replay; a bounded store of earlier tasks' transitions is mixed into every batch.
- ``ewc``: elastic weight consolidation; a diagonal-Fisher penalty holds weights important to earlier tasks.
- ``multitask``: train on the union of every task seen so far (the upper bound).
- ``single_task``: a fresh agent per task (the reference that forward-transfer metrics compare against).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

STRATEGIES: dict[str, type] = {}


def strategy(name: str):
    def wrap(cls: type) -> type:
        cls.name = name
        STRATEGIES[name] = cls
        return cls

    return wrap


@dataclass
class Transitions:
    """The part of a dataset the offline agents train on: normalised observations and actions."""

    obs: torch.Tensor
    actions: torch.Tensor

    @classmethod
    def of(cls, dataset) -> Transitions:
        return cls(dataset.obs, dataset.actions)

    @classmethod
    def concat(cls, parts: list[Transitions]) -> Transitions:
        return cls(torch.cat([p.obs for p in parts]), torch.cat([p.actions for p in parts]))

    def __len__(self) -> int:
        return len(self.obs)


class Strategy:
    name = "base"

    def __init__(self, agent_factory: Callable[[], object]):
        """``agent_factory`` makes a fresh agent (used by strategies that restart, and to start)."""
        self.agent_factory = agent_factory
        self.agent = agent_factory()

    def learn_task(self, dataset, steps: int) -> list[float]:
        raise NotImplementedError


@strategy("sequential")
class SequentialFinetuning(Strategy):
    def learn_task(self, dataset, steps: int) -> list[float]:
        return self.agent.learn(Transitions.of(dataset), steps=steps)


@strategy("er")
class ExperienceReplay(Strategy):
    def __init__(self, agent_factory, memory_per_task: int = 1000, seed: int = 0):
        super().__init__(agent_factory)
        self.memory_per_task, self.memory = memory_per_task, []
        self.rng = np.random.default_rng(seed)

    def learn_task(self, dataset, steps: int) -> list[float]:
        current = Transitions.of(dataset)
        losses = self.agent.learn(Transitions.concat([current, *self.memory]), steps=steps)
        keep = torch.from_numpy(
            self.rng.choice(len(current), size=min(self.memory_per_task, len(current)), replace=False)
        )
        self.memory.append(Transitions(current.obs[keep], current.actions[keep]))
        return losses


@strategy("ewc")
class ElasticWeightConsolidation(Strategy):
    def __init__(self, agent_factory, ewc_lambda: float = 100.0, fisher_batches: int = 20, batch_size: int = 256):
        super().__init__(agent_factory)
        self.ewc_lambda, self.fisher_batches, self.batch_size = ewc_lambda, fisher_batches, batch_size
        self.anchors: list[tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]] = []

    def penalty(self) -> torch.Tensor:
        total = torch.zeros((), device=self.agent.device)
        for params, fisher in self.anchors:
            for name, parameter in self.agent.policy.named_parameters():
                total = total + (fisher[name] * (parameter - params[name]).pow(2)).sum()
        return 0.5 * self.ewc_lambda * total

    def learn_task(self, dataset, steps: int) -> list[float]:
        data = Transitions.of(dataset)
        losses = self.agent.learn(data, steps=steps, regularizer=self.penalty if self.anchors else None)
        self.anchors.append(self._consolidate(data))
        return losses

    def _consolidate(self, data: Transitions) -> tuple[dict, dict]:
        """Diagonal Fisher information of the imitation loss at the weights learned for this task."""
        policy = self.agent.policy
        fisher = {n: torch.zeros_like(p) for n, p in policy.named_parameters()}
        rng = np.random.default_rng(0)
        for _ in range(self.fisher_batches):
            index = torch.from_numpy(rng.integers(0, len(data), size=self.batch_size))
            policy.zero_grad()
            policy.loss(data.obs[index].to(self.agent.device), data.actions[index].to(self.agent.device)).backward()
            for n, p in policy.named_parameters():
                if p.grad is not None:
                    fisher[n] += p.grad.detach().pow(2) / self.fisher_batches
        params = {n: p.detach().clone() for n, p in policy.named_parameters()}
        return params, fisher


@strategy("multitask")
class Multitask(Strategy):
    def __init__(self, agent_factory):
        super().__init__(agent_factory)
        self.seen: list[Transitions] = []

    def learn_task(self, dataset, steps: int) -> list[float]:
        self.seen.append(Transitions.of(dataset))
        return self.agent.learn(Transitions.concat(self.seen), steps=steps)


@strategy("single_task")
class SingleTask(Strategy):
    def learn_task(self, dataset, steps: int) -> list[float]:
        self.agent = self.agent_factory()
        return self.agent.learn(Transitions.of(dataset), steps=steps)
