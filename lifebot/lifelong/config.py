"""The typed configs of a lifelong run: what it measures (:class:`RunConfig`) and how it executes.

Kept apart from the runner so that reading them (the command line's options and help) imports no torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lifebot.configs import ConfigError, require
from lifebot.envs.control import CONTROL_MODES, DEFAULT_CONTROL_MODE

MODEL_SELECTIONS = ("last", "libero")


def curve_length(steps_per_task: int, online_steps: int) -> int:
    """Length of a task's learning curve: its online steps for an online agent, else its gradient steps."""
    return online_steps or steps_per_task


def curve_points(curve_steps: int, points: int) -> list[int]:
    """Steps into a task of its ``points`` evenly spaced learning-curve evaluations (the last ends the task)."""
    return [round(curve_steps * (e + 1) / points) for e in range(points)]


@dataclass(frozen=True)
class RunConfig:
    """What a run measures; a run directory holds one, and a restarted run must ask for the same."""

    suite: str
    """Suite whose tasks are learned (``task_suites/<suite>``)."""
    agent: str = "chunking"
    """Agent (``lifebot.agents.registry.AGENTS``); its config comes from ``agent_config``. The default is the one
    the baseline card (``docs/baseline_card.md``) found to master single tasks."""
    agent_config: str = ""
    """YAML file with the agent's config (default ``policies/<agent>.yaml``); the unit's seed replaces its seed."""
    init_checkpoint: str = ""
    """Agent checkpoint every unit starts from (its weights and observation normalizer, and its config unless
    ``agent_config`` is given: e.g. ``freeze_encoder: false`` to fine-tune a pretrained encoder), e.g. an IDM
    encoder pretrained on the ``pretrain`` suite; required for ``idm`` unless its objective is ``none``."""
    strategy: str = "sequential"
    """Lifelong strategy (``lifebot.lifelong.strategies.STRATEGIES``)."""
    strategy_config: str = ""
    """YAML file with the strategy's typed config (default: its defaults); run.json records the result."""
    strategy_options: tuple[str, ...] = ()
    """``key=value`` settings of the strategy's config, applied over ``strategy_config``."""
    orderings: tuple[int, ...] = (0,)
    """Indices of the suite's task orderings (0 is the suite's own order)."""
    seeds: tuple[int, ...] = (0,)
    """Seeds of the agent (initialisation, minibatches) and the strategy."""
    tasks: int = 0
    """Learn only the suite's first N tasks (each ordering keeps its relative order); 0 means all."""
    demos_per_task: int = 50
    """Scripted-expert demonstrations per task (collected into ``demos_dir`` when missing)."""
    steps_per_task: int = 3000
    """Gradient steps spent on each task's demonstrations (an online agent's offline pretraining); the default
    is the baseline card's budget (``docs/baseline_card.md``)."""
    fresh_optimizer: bool = False
    """Each task starts with a new optimizer (LIBERO's ``start_task`` builds one per task); false carries its
    moments over from the previous task, as every run recorded before this field did (what each measured:
    docs/lifelong/README.md, *Pretrained encoder vs scratch*)."""
    online_steps: int = 0
    """Online environment steps on each task after its demonstrations (online agents, e.g. ``wsrl``; their
    warmup included); the learning curve is measured along them. 0 for an offline agent."""
    reward: str = "sparse"
    """Reward of the online phase's environment: ``sparse`` (1 on success) or ``dense`` (shaped)."""
    eval_points: int = 4
    """Evaluation points of each learning curve c[k, :], evenly spaced; the last ends the task."""
    episodes: int = 20
    """Evaluation episodes per task, from the suite's fixed evaluation states 0..episodes-1."""
    control_mode: str = DEFAULT_CONTROL_MODE
    """Control mode of demonstrations and evaluation."""
    model_selection: str = "last"
    """``last``: a task ends with its final weights. ``libero``: with the best evaluation point's (peeks)."""
    demos_dir: str = "demos"
    """Where demonstrations are read from, and collected into when missing."""

    def __post_init__(self):
        require(
            self,
            {
                "model_selection": (self.model_selection in MODEL_SELECTIONS, f"one of {', '.join(MODEL_SELECTIONS)}"),
                "control_mode": (self.control_mode in CONTROL_MODES, f"one of {', '.join(CONTROL_MODES)}"),
                "orderings": (len(self.orderings) > 0 and len(set(self.orderings)) == len(self.orderings), "distinct"),
                "seeds": (len(self.seeds) > 0 and len(set(self.seeds)) == len(self.seeds), "distinct"),
                "steps_per_task": (self.steps_per_task >= 1, "at least 1"),
                "online_steps": (self.online_steps >= 0, "at least 0"),
                "eval_points": (1 <= self.eval_points <= self.curve_steps, "between 1 and the curve's steps"),
                "episodes": (self.episodes >= 1, "at least 1"),
                "demos_per_task": (self.demos_per_task >= 1, "at least 1"),
                "tasks": (self.tasks >= 0 and self.tasks != 1, "0 (all) or at least 2"),
            },
        )
        from lifebot.agents.registry import (  # the registries import torch: after the cheap checks
            agent_class,
            encoder_agents,
            load_agent_config,
        )
        from lifebot.envs.gym_env import REWARDS
        from lifebot.lifelong.strategies import STRATEGIES, load_strategy_config

        require(
            self,
            {
                "strategy": (self.strategy in STRATEGIES, f"one of {', '.join(STRATEGIES)}"),
                "reward": (self.reward in REWARDS, f"one of {', '.join(REWARDS)}"),
            },
        )
        online = agent_class(self.agent).online  # KeyError: unknown agent, with the known ones
        if online != (self.online_steps > 0):
            need = "online_steps >= 1" if online else "online_steps 0 (it learns from demonstrations only)"
            raise ConfigError("RunConfig", "online_steps", f"agent {self.agent} needs {need}, got {self.online_steps}")
        if online and self.fresh_optimizer:
            problem = f"must be false: agent {self.agent}'s optimizers are stable-baselines3's (one online phase each)"
            raise ConfigError("RunConfig", "fresh_optimizer", problem)
        if online and self.model_selection != "last":
            problem = f"must be 'last': agent {self.agent} learns online"
            raise ConfigError("RunConfig", "model_selection", problem)
        load_strategy_config(self.strategy, self.strategy_config or None, self.strategy_options)
        pretrained = self.agent in encoder_agents() and not self.init_checkpoint
        if pretrained and load_agent_config(self.agent, self.agent_config or None).objective != "none":
            problem = f"is required: agent {self.agent} needs init_checkpoint (its pretrained encoder)"
            raise ConfigError("RunConfig", "init_checkpoint", problem)

    @property
    def curve_steps(self) -> int:
        """Length of a task's learning curve (:func:`curve_length`)."""
        return curve_length(self.steps_per_task, self.online_steps)

    @property
    def eval_steps(self) -> list[int]:
        """Steps into a task (online or gradient, :attr:`curve_steps`) at which its learning curve is measured."""
        return curve_points(self.curve_steps, self.eval_points)


@dataclass(frozen=True)
class ExecutionConfig:
    """How a run executes (never what it measures: results do not depend on these)."""

    executor: str = "local"
    """``local`` (this machine) or ``ray`` (a Ray cluster; ``pip install lifebot[ray]``)."""
    jobs: int = 1
    """Units at a time on the local executor; 1 runs them in this process, one after another."""
    workers: int = os.cpu_count() or 1
    """Evaluation processes per unit (each one environment)."""
    ray_address: str | None = None
    """Ray cluster address for ``ray.init``; None starts a local Ray instance."""

    def __post_init__(self):
        require(self, {"jobs": (self.jobs >= 1, "at least 1"), "workers": (self.workers >= 1, "at least 1")})
        from lifebot.lifelong.executors import EXECUTORS

        require(self, {"executor": (self.executor in EXECUTORS, f"one of {', '.join(EXECUTORS)}")})
