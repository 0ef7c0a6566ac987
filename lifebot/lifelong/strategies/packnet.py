"""PackNet (Mallya and Lazebnik, CVPR 2018), as LIBERO runs it (``libero/lifelong/algos/packnet.py``).

Each weight matrix (the ``Linear`` and ``Conv`` weights the agent's optimizer trains) carries a mask: 0 for a
free weight, t + 1 for one owned by the task learned at position t. A task trains the free weights; at
``steps - retrain_steps`` the smallest ``prune_fraction`` of them by magnitude are zeroed and stay free, the rest
become the task's, and the last ``retrain_steps`` train only those (the share is of the free weights the task
moved from 0: :meth:`PackNet.milestone` says why). Weights owned by earlier tasks never move:
their gradients are zeroed and, after every optimizer step, their values are restored (Adam's momentum and
weight decay would otherwise still move them). The task at position j acts with the weights owned by tasks
0..j only (:meth:`PackNet.policy_for`), so later tasks cannot change its actions.

Biases, normalisation parameters and every other parameter that is not a weight matrix are never trained
(they keep their initial values), as in LIBERO, where bias and LayerNorm/BatchNorm gradients are zeroed from
the first task on; this is what keeps every earlier task's function bit-identical.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from lifebot.lifelong.strategies.base import Strategy, StrategyConfig, Transitions, strategy, trained_parameters


@dataclass(frozen=True)
class PackNetConfig(StrategyConfig):
    prune_fraction: float = 0.75
    """Share of a task's free weights zeroed (and left free for later tasks) after its training (LIBERO: 0.75)."""
    retrain_steps: int = 500
    """The task's last gradient steps, spent retraining its kept weights after pruning (within the task's steps)."""

    def __post_init__(self):
        if not 0.0 <= self.prune_fraction < 1.0:
            raise ValueError(f"prune_fraction must be in [0, 1), got {self.prune_fraction}")
        if self.retrain_steps < 0:
            raise ValueError(f"retrain_steps must be at least 0, got {self.retrain_steps}")


@strategy("packnet", PackNetConfig)
class PackNet(Strategy):
    needs_gradients = True

    def __init__(self, agent_factory, config=None, seed: int = 0):
        super().__init__(agent_factory, config, seed)
        if getattr(self.agent.config, "ema_decay", 0.0):
            raise ValueError(
                "packnet: each task acts with exactly the weights its mask keeps, and an average of the weights "
                "(the agent's ema_decay) blends them with the pruned ones; set the agent's ema_decay to 0"
            )
        self.masks: dict[str, torch.Tensor] = {}
        self.tasks_done = 0
        self.trainable: dict[str, torch.Tensor] = {}
        self.fixed: dict[str, torch.Tensor] = {}

    def learn_task(self, dataset, steps, eval_points=(), evaluate=None, keep_best=False) -> list[float]:
        if keep_best:
            raise ValueError(
                "packnet: model selection 'libero' could pick weights from before the pruning, which the task's "
                "mask no longer describes; use model selection 'last'"
            )
        return super().learn_task(dataset, steps, eval_points, evaluate)

    def _weights(self) -> dict[str, torch.nn.Parameter]:
        return {n: p for n, p in trained_parameters(self.agent).items() if p.dim() > 1}

    def _hold(self, trainable: dict[str, torch.Tensor]) -> None:
        """Only the ``trainable`` entries of each trained parameter may change from now on (the rest: none)."""
        params = trained_parameters(self.agent)
        self.trainable = {n: trainable.get(n, torch.zeros_like(p, dtype=torch.bool)) for n, p in params.items()}
        self.fixed = {n: p.detach().clone() for n, p in params.items()}

    def start_task(self, current: Transitions) -> None:
        if not self.masks:
            self.masks = {n: torch.zeros_like(p, dtype=torch.uint8) for n, p in self._weights().items()}
        self._hold({n: mask == 0 for n, mask in self.masks.items()})

    def milestones(self, steps: int) -> set[int]:
        if self.config.retrain_steps >= steps:
            raise ValueError(f"packnet: retrain_steps ({self.config.retrain_steps}) must be below the task's {steps}")
        return {steps - self.config.retrain_steps}

    def milestone(self, step: int, current: Transitions) -> None:
        """Prune: of the free weights the task trained, the smallest ``prune_fraction`` are zeroed (and stay
        free), the rest become this task's.

        A free weight still at exactly 0 (pruned earlier and never moved since: it multiplies an input that never
        varies, such as an empty object slot, or feeds a unit this task never activates) is not counted: counted,
        such zeros fill the pruned share, the task keeps every weight it trained, and a layer is used up within
        a few tasks (measured on goal: the fifth task found no free first-layer weight and did not learn).
        """
        owner = self.tasks_done + 1
        with torch.no_grad():
            for name, weight in self._weights().items():
                mask = self.masks[name]
                trained = (mask == 0) & (weight != 0)
                magnitude = weight.abs()
                cut = round(self.config.prune_fraction * int(trained.sum()))
                if cut:
                    remove = trained & (magnitude <= magnitude[trained].kthvalue(cut).values)
                else:
                    remove = torch.zeros_like(trained)
                weight[remove] = 0.0
                mask[trained & ~remove] = owner
        self._hold({n: mask == owner for n, mask in self.masks.items()})

    def grad_hook(self) -> None:
        for name, p in trained_parameters(self.agent).items():
            if p.grad is not None:
                p.grad.mul_(self.trainable[name])

    def step_hook(self) -> None:
        with torch.no_grad():
            for name, p in trained_parameters(self.agent).items():
                p.copy_(torch.where(self.trainable[name], p, self.fixed[name]))

    def end_task(self, current: Transitions) -> None:
        self.tasks_done += 1

    def policy_for(self, position: int):
        """The agent with only the weights of tasks 0..``position`` acting (all of them for later positions)."""
        if position >= self.tasks_done - 1:
            return self.agent
        masked = copy.copy(self.agent)
        masked.policy = copy.deepcopy(self.agent.policy)
        weights = dict(masked.policy.named_parameters())
        with torch.no_grad():
            for name, mask in self.masks.items():
                weights[name][(mask == 0) | (mask > position + 1)] = 0.0
        return masked

    def state_dict(self) -> dict:
        return {"masks": self.masks, "tasks_done": self.tasks_done}

    def load_state_dict(self, state: dict) -> None:
        self.masks, self.tasks_done = state["masks"], int(state["tasks_done"])
