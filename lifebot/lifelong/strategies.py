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

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from lifebot.registry import Registry, registers

STRATEGIES: Registry[type] = Registry("strategy", plugins="lifebot.strategies")


def strategy(name: str):
    def wrap(cls: type) -> type:
        cls.name = name
        return registers(STRATEGIES, name)(cls)

    return wrap


@dataclass
class Transitions:
    """The part of a dataset the offline agents train on: normalised observations, actions, camera images."""

    obs: torch.Tensor
    actions: torch.Tensor
    images: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset) -> Transitions:
        return cls(dataset.obs, dataset.actions, dict(getattr(dataset, "images", None) or {}))

    @classmethod
    def concat(cls, parts: list[Transitions]) -> Transitions:
        keys = set.intersection(*(set(p.images) for p in parts))
        images = {k: torch.cat([p.images[k] for p in parts]) for k in sorted(keys)}
        return cls(torch.cat([p.obs for p in parts]), torch.cat([p.actions for p in parts]), images)

    def subset(self, index: torch.Tensor) -> Transitions:
        return Transitions(self.obs[index], self.actions[index], {k: v[index] for k, v in self.images.items()})

    def __len__(self) -> int:
        return len(self.obs)


class Strategy:
    """Learns the tasks of a sequence one at a time; subclasses change what is trained on and what is kept.

    The hooks, in the order :meth:`learn_task` calls them: ``start_task`` (restart, remember), ``training_data``
    (what the batches come from), ``regularizer`` (a term added to every loss), ``end_task`` (consolidate).
    """

    name = "base"

    def __init__(self, agent_factory: Callable[[], object], seed: int = 0):
        """``agent_factory`` makes a fresh agent (used by strategies that restart, and to start)."""
        self.agent_factory, self.seed = agent_factory, seed
        self.agent = agent_factory()

    def learn_task(
        self,
        dataset,
        steps: int,
        eval_points: Sequence[int] = (),
        evaluate: Callable[[int], float] | None = None,
        keep_best: bool = False,
    ) -> list[float]:
        """Train on one task for ``steps`` gradient steps; returns the losses.

        At each of ``eval_points`` (gradient steps into the task) ``evaluate(step)`` is called and returns a
        success rate. ``keep_best`` ends the task with the weights of the best evaluation point (LIBERO's model
        selection, which peeks at the evaluation episodes) instead of the last ones.
        """
        current = Transitions.of(dataset)
        self.start_task(current)
        data, losses, done = self.training_data(current), [], 0
        best, best_weights = -1.0, None
        for point in sorted({*eval_points, steps}):
            losses += self.agent.learn(data, steps=point - done, regularizer=self.regularizer())
            done = point
            if evaluate is not None and point in eval_points:
                success = evaluate(point)
                if keep_best and success > best:
                    best, best_weights = success, copy.deepcopy(self.agent.policy.state_dict())
        if best_weights is not None:
            self.agent.policy.load_state_dict(best_weights)
        self.end_task(current)
        return losses

    def start_task(self, current: Transitions) -> None:
        pass

    def training_data(self, current: Transitions) -> Transitions:
        return current

    def regularizer(self) -> Callable[[], torch.Tensor] | None:
        return None

    def end_task(self, current: Transitions) -> None:
        pass

    def state_dict(self) -> dict:
        """What the strategy remembers besides the agent (tensors and plain data), for resuming a run."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@strategy("sequential")
class SequentialFinetuning(Strategy):
    """Every hook at its default: plain fine-tuning on each new task."""


@strategy("er")
class ExperienceReplay(Strategy):
    def __init__(self, agent_factory, memory_per_task: int = 1000, seed: int = 0):
        super().__init__(agent_factory, seed)
        self.memory_per_task, self.memory = memory_per_task, []
        self.rng = np.random.default_rng(seed)

    def training_data(self, current: Transitions) -> Transitions:
        return Transitions.concat([current, *self.memory])

    def end_task(self, current: Transitions) -> None:
        keep = self.rng.choice(len(current), size=min(self.memory_per_task, len(current)), replace=False)
        keep = torch.from_numpy(keep)
        self.memory.append(current.subset(keep))

    def state_dict(self) -> dict:
        return {"memory": [vars(part) for part in self.memory], "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.memory = [Transitions(**part) for part in state["memory"]]
        self.rng.bit_generator.state = state["rng"]


@strategy("ewc")
class ElasticWeightConsolidation(Strategy):
    def __init__(
        self,
        agent_factory,
        ewc_lambda: float = 100.0,
        fisher_batches: int = 20,
        batch_size: int = 256,
        seed: int = 0,
    ):
        super().__init__(agent_factory, seed)
        self.ewc_lambda, self.fisher_batches, self.batch_size = ewc_lambda, fisher_batches, batch_size
        self.anchors: list[tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]] = []

    def penalty(self) -> torch.Tensor:
        total = torch.zeros((), device=self.agent.device)
        for params, fisher in self.anchors:
            for name, parameter in self.agent.policy.named_parameters():
                total = total + (fisher[name] * (parameter - params[name]).pow(2)).sum()
        return 0.5 * self.ewc_lambda * total

    def regularizer(self) -> Callable[[], torch.Tensor] | None:
        return self.penalty if self.anchors else None

    def end_task(self, current: Transitions) -> None:
        """Anchor the weights learned for this task, weighted by the diagonal Fisher of its imitation loss."""
        policy, device = self.agent.policy, self.agent.device
        fisher = {n: torch.zeros_like(p) for n, p in policy.named_parameters()}
        rng = np.random.default_rng(self.seed + len(self.anchors))
        for _ in range(self.fisher_batches):
            batch = current.subset(torch.from_numpy(rng.integers(0, len(current), size=self.batch_size)))
            images = {k: v.to(device) for k, v in batch.images.items()}
            policy.zero_grad()
            policy.loss(batch.obs.to(device), batch.actions.to(device), images).backward()
            for n, p in policy.named_parameters():
                if p.grad is not None:
                    fisher[n] += p.grad.detach().pow(2) / self.fisher_batches
        params = {n: p.detach().clone() for n, p in policy.named_parameters()}
        self.anchors.append((params, fisher))

    def state_dict(self) -> dict:
        return {"anchors": [list(anchor) for anchor in self.anchors]}

    def load_state_dict(self, state: dict) -> None:
        self.anchors = [tuple(anchor) for anchor in state["anchors"]]


@strategy("multitask")
class Multitask(Strategy):
    def __init__(self, agent_factory, seed: int = 0):
        super().__init__(agent_factory, seed)
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
    def start_task(self, current: Transitions) -> None:
        self.agent = self.agent_factory()


STRATEGIES.load_plugins()  # strategies of other packages (entry-point group lifebot.strategies)
