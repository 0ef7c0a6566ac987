"""Averaged gradient episodic memory, A-GEM (Chaudhry et al., ICLR 2019), as LIBERO runs it.

Earlier tasks' transitions are kept as experience replay keeps them, but never trained on: after every
backward pass, the gradient g is compared with the gradient g_ref of the imitation loss on a memory minibatch,
and when g·g_ref < 0 (the step would increase the memory loss) it is replaced by g − (g·g_ref / g_ref·g_ref)
g_ref, its projection onto the half-space where the memory loss does not increase to first order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lifebot.lifelong.strategies.base import Strategy, Transitions, strategy, trained_parameters
from lifebot.lifelong.strategies.classic import ERConfig, ExperienceReplay


@dataclass(frozen=True)
class AGEMConfig(ERConfig):
    memory_batch: int = 256
    """Memory transitions per reference gradient (LIBERO: the training batch size)."""

    def __post_init__(self):
        super().__post_init__()
        if self.memory_batch < 1:
            raise ValueError(f"memory_batch must be at least 1, got {self.memory_batch}")


def project(g: torch.Tensor, g_ref: torch.Tensor) -> torch.Tensor:
    """``g`` unchanged when it does not oppose ``g_ref``, else with its component against ``g_ref`` removed."""
    dot = torch.dot(g, g_ref)
    return g if dot >= 0 else g - (dot / torch.dot(g_ref, g_ref)) * g_ref


@strategy("agem", AGEMConfig)
class AveragedGEM(ExperienceReplay):
    needs_gradients = True
    reference: Transitions | None = None
    training_data = Strategy.training_data  # the memory constrains the gradients; batches are the task's own

    def start_task(self, current: Transitions) -> None:
        self.reference = Transitions.concat(self.memory) if self.memory else None

    def _gradient(self) -> torch.Tensor:
        params = trained_parameters(self.agent).values()
        return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])

    def memory_gradient(self) -> torch.Tensor:
        """The flattened gradient of the imitation loss on a minibatch of the memory (drawn with ``self.rng``)."""
        index = torch.from_numpy(self.rng.integers(0, len(self.reference), size=self.config.memory_batch))
        batch, device = self.reference.subset(index), self.agent.device
        policy = self.agent.policy
        policy.zero_grad()
        images = {k: v.to(device) for k, v in batch.images.items()}
        policy.loss(batch.obs.to(device), batch.actions.to(device), images).backward()
        return self._gradient()

    def grad_hook(self) -> None:
        if self.reference is None:
            return
        g = self._gradient().clone()
        g = project(g, self.memory_gradient())
        start = 0
        for p in trained_parameters(self.agent).values():
            p.grad = g[start : start + p.numel()].view_as(p).clone()
            start += p.numel()
