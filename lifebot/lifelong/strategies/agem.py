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
    projection: str = "gradient"
    """``gradient``: project the gradient before the optimizer step (the paper, with SGD; LIBERO, with Adam,
    whose per-weight scaling then turns the projected gradient into a step that may raise the memory loss).
    ``update``: let the optimizer step, then project the step itself, so that no step raises the memory loss to
    first order whatever the optimizer."""

    def __post_init__(self):
        super().__post_init__()
        if self.memory_batch < 1:
            raise ValueError(f"memory_batch must be at least 1, got {self.memory_batch}")
        if self.projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {', '.join(PROJECTIONS)}, got {self.projection!r}")


PROJECTIONS = ("gradient", "update")


def project(g: torch.Tensor, g_ref: torch.Tensor) -> torch.Tensor:
    """``g`` unchanged when it does not oppose ``g_ref``, else with its component against ``g_ref`` removed."""
    dot = torch.dot(g, g_ref)
    return g if dot >= 0 else g - (dot / torch.dot(g_ref, g_ref)) * g_ref


@strategy("agem", AGEMConfig)
class AveragedGEM(ExperienceReplay):
    needs_gradients = True
    reference: Transitions | None = None
    g_ref: torch.Tensor | None = None  # this step's memory gradient
    training_data = Strategy.training_data  # the memory constrains the gradients; batches are the task's own

    def start_task(self, current: Transitions) -> None:
        self.reference = Transitions.concat(self.memory) if self.memory else None

    def _flat(self, tensors) -> torch.Tensor:
        return torch.cat([t.reshape(-1) for t in tensors])

    def _gradient(self) -> torch.Tensor:
        params = trained_parameters(self.agent).values()
        return self._flat(p.grad if p.grad is not None else torch.zeros_like(p) for p in params)

    def flat_parameters(self) -> torch.Tensor:
        """The trained parameters' values, flattened in the order of the gradients (a copy)."""
        return self._flat(p.detach() for p in trained_parameters(self.agent).values()).clone()

    def _unflatten(self, flat: torch.Tensor) -> list[torch.Tensor]:
        params, start, parts = trained_parameters(self.agent).values(), 0, []
        for p in params:
            parts.append(flat[start : start + p.numel()].view_as(p).clone())
            start += p.numel()
        return parts

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
        self.g_ref = None
        if self.reference is None:
            return
        g = self._gradient().clone()
        self.g_ref = self.memory_gradient()
        if self.config.projection == "gradient":
            g = project(g, self.g_ref)
        else:  # the step is projected after the optimizer has made it
            self.before = self.flat_parameters()
        for p, grad in zip(trained_parameters(self.agent).values(), self._unflatten(g), strict=True):
            p.grad = grad

    def step_hook(self) -> None:
        if self.config.projection != "update" or self.g_ref is None:
            return
        step = -project(-(self.flat_parameters() - self.before), self.g_ref)  # descent: step · g_ref <= 0
        with torch.no_grad():
            params = trained_parameters(self.agent).values()
            for p, value in zip(params, self._unflatten(self.before + step), strict=True):
                p.copy_(value)
