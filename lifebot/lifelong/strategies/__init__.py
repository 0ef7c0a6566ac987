"""Lifelong-learning strategies: how an agent learns task k of a sequence given what it learned before.

One registry (:data:`STRATEGIES`), each strategy filed with its typed config (:func:`load_strategy_config`).
Each strategy wraps a lifebot offline agent (``BCAgent`` or ``IDMAgent``) and sees the tasks one at a time
through :meth:`Strategy.learn_task`. Datasets must share the agent's normalizer
(``DemoDataset(paths, normalizer=agent.normalizer)``), so observations mean the same across tasks.

- ``sequential``: fine-tune on each new task (the forgetting baseline).
- ``er``: experience replay; a bounded store of earlier tasks' transitions is mixed into every batch.
- ``ewc``: elastic weight consolidation; a diagonal-Fisher penalty holds weights important to earlier tasks.
- ``multitask``: train on the union of every task seen so far (the upper bound).
- ``single_task``: a fresh agent per task (the reference that forward-transfer metrics compare against).
- ``packnet``: prune, retrain and freeze a share of the weights per task; each task acts with its own share.
- ``agem``: gradients projected so they do not increase the loss on a memory of earlier tasks.
"""

from lifebot.lifelong.strategies.agem import AGEMConfig, AveragedGEM
from lifebot.lifelong.strategies.base import (
    STRATEGIES,
    Strategy,
    StrategyConfig,
    Transitions,
    load_strategy_config,
    strategy,
)
from lifebot.lifelong.strategies.classic import ERConfig, EWCConfig
from lifebot.lifelong.strategies.packnet import PackNet, PackNetConfig

__all__ = [
    "STRATEGIES",
    "AGEMConfig",
    "AveragedGEM",
    "ERConfig",
    "EWCConfig",
    "PackNet",
    "PackNetConfig",
    "Strategy",
    "StrategyConfig",
    "Transitions",
    "load_strategy_config",
    "strategy",
]

STRATEGIES.load_plugins()  # strategies of other packages (entry-point group lifebot.strategies)
