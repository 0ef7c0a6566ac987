"""The strategy registry, the typed strategy configs and the hooks every strategy is built from."""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lifebot.agents.config import config_from_dict, load_config, parse_options
from lifebot.registry import Registry, registers

STRATEGIES: Registry[type] = Registry("strategy", plugins="lifebot.strategies")


@dataclass(frozen=True)
class StrategyConfig:
    """The settings of a strategy that has none; each strategy's own config extends it."""


def strategy(name: str, config_class: type = StrategyConfig):
    """Files a strategy class under ``name`` with its typed config class."""

    def wrap(cls: type) -> type:
        cls.name, cls.config_class = name, config_class
        return registers(STRATEGIES, name)(cls)

    return wrap


def load_strategy_config(name: str, path: str | Path | None = None, options: Sequence[str] = ()):
    """Strategy ``name``'s typed config: its defaults, then the YAML file at ``path``, then ``key=value`` options.

    Option values are read as YAML scalars (``ewc_lambda=300`` is a number, ``x=abc`` a string).
    """
    cls = STRATEGIES[name].config_class
    data: dict[str, Any] = dataclasses.asdict(load_config(cls, path)) if path else {}
    data.update(parse_options(options, "--strategy-options"))
    return config_from_dict(cls, data, f"strategy {name} config")


@dataclass
class Transitions:
    """The part of a dataset the agents train on: normalised observations, actions, camera images, and
    ``extras`` (per-transition tensors an RL agent adds through ``agent.transitions``: rewards, next obs...)."""

    obs: torch.Tensor
    actions: torch.Tensor
    images: dict[str, torch.Tensor] = field(default_factory=dict)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset) -> Transitions:
        extras = dict(getattr(dataset, "extras", None) or {})
        return cls(dataset.obs, dataset.actions, dict(getattr(dataset, "images", None) or {}), extras)

    @classmethod
    def concat(cls, parts: list[Transitions]) -> Transitions:
        def joined(kind: str) -> dict[str, torch.Tensor]:
            keys = set.intersection(*(set(getattr(p, kind)) for p in parts))
            return {k: torch.cat([getattr(p, kind)[k] for p in parts]) for k in sorted(keys)}

        obs, actions = torch.cat([p.obs for p in parts]), torch.cat([p.actions for p in parts])
        return cls(obs, actions, joined("images"), joined("extras"))

    def subset(self, index: torch.Tensor) -> Transitions:
        pick = lambda tensors: {k: v[index] for k, v in tensors.items()}  # noqa: E731
        return Transitions(self.obs[index], self.actions[index], pick(self.images), pick(self.extras))

    def __len__(self) -> int:
        return len(self.obs)


def trained_parameters(agent) -> dict[str, torch.nn.Parameter]:
    """The policy parameters the agent's optimizer updates, by name (IDM's frozen encoder is not among them)."""
    optimizer = getattr(agent, "optimizer", None)
    if optimizer is None:
        return dict(agent.policy.named_parameters())
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return {n: p for n, p in agent.policy.named_parameters() if id(p) in trained}


class Strategy:
    """Learns the tasks of a sequence one at a time; subclasses change what is trained on and what is kept.

    The hooks, in the order :meth:`learn_task` calls them: ``start_task`` (restart, remember), ``training_data``
    (what the batches come from), ``regularizer`` (a term added to every loss), ``milestones`` (steps into the
    task at which ``milestone`` runs, e.g. pruning), ``grad_hook`` / ``step_hook`` (called by the agent after
    each backward pass and after each optimizer step), ``end_task`` (consolidate). ``policy_for`` is what acts
    on a task the strategy has learned.
    """

    name = "base"
    config_class: type = StrategyConfig
    needs_gradients = False
    """Whether the strategy works on the agent's parameters and loss (then the agent must expose them)."""

    def __init__(self, agent_factory: Callable[[], object], config=None, seed: int = 0):
        """``agent_factory`` makes a fresh agent (used by strategies that restart, and to start)."""
        self.config = self.config_class() if config is None else config
        if not isinstance(self.config, self.config_class):
            raise TypeError(f"strategy {self.name} takes a {self.config_class.__name__}, got {self.config!r}")
        self.agent_factory, self.seed = agent_factory, seed
        self.agent = agent_factory()
        if self.needs_gradients:
            self._check_agent()

    def _check_agent(self) -> None:
        """Refuses an agent without the parameters, loss and gradient hooks this strategy works on."""
        policy = getattr(self.agent, "policy", None)
        ok = isinstance(policy, torch.nn.Module) and callable(getattr(policy, "loss", None))
        learn = getattr(self.agent, "learn", None)
        if not (ok and learn is not None and {"grad_hook", "step_hook"} <= set(inspect.signature(learn).parameters)):
            raise TypeError(
                f"strategy {self.name} works on an agent's parameters and loss: agent "
                f"{getattr(self.agent, 'name', type(self.agent).__name__)!r} does not expose a torch policy with "
                "loss() and learn(grad_hook=, step_hook=)"
            )

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
        milestones = self.milestones(steps)
        for point in sorted({*eval_points, *milestones, steps}):
            losses += self.agent.learn(data, point - done, **self._learn_hooks())
            done = point
            if point in milestones:
                self.milestone(point, current)
            if evaluate is not None and point in eval_points:
                success = evaluate(point)
                if keep_best and success > best:
                    best, best_weights = success, copy.deepcopy(self.agent.acting_policy.state_dict())
        if best_weights is not None:
            self.agent.load_policy(best_weights)
        self.end_task(current)
        return losses

    def _learn_hooks(self) -> dict:
        hooks = {"regularizer": self.regularizer()}
        if self.needs_gradients:
            hooks.update(grad_hook=self.grad_hook, step_hook=self.step_hook)
        return hooks

    def start_task(self, current: Transitions) -> None:
        pass

    def milestones(self, steps: int) -> set[int]:
        return set()

    def milestone(self, step: int, current: Transitions) -> None:
        pass

    def grad_hook(self) -> None:
        pass

    def step_hook(self) -> None:
        pass

    def policy_for(self, position: int):
        """What acts on the task learned at ``position`` of the order (or to be learned there); the agent."""
        return self.agent

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
