"""Extension points: one registry mechanism, plugins through entry points, and docs/extending.md's examples."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lifebot.registry import Registry

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


def test_a_registry_refuses_duplicates_and_lists_known_names():
    things = Registry("widget", items={"a": 1})
    things.register("b")(2)
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        things.add("a", 3)
    with pytest.raises(KeyError, match="unknown widget 'c'; known: a, b"):
        things["c"]


def test_every_registry_is_one_registry():
    from lifebot.agents.registry import AGENTS
    from lifebot.envs.rewards import SHAPINGS
    from lifebot.experts.registry import SOLVERS
    from lifebot.lifelong.executors import EXECUTORS
    from lifebot.lifelong.metrics import METRICS
    from lifebot.lifelong.strategies import STRATEGIES
    from lifebot.objects.catalog import CATALOG
    from lifebot.predicates import PREDICATES
    from lifebot.suites.families import FAMILIES, family

    for registry in (AGENTS, SHAPINGS, SOLVERS, EXECUTORS, METRICS, STRATEGIES, CATALOG, PREDICATES, FAMILIES):
        assert isinstance(registry, Registry)
    with pytest.raises(ValueError, match="suite family 'goal' is registered twice"):
        family("goal", size=1)(lambda rng, slot, attempt, context: None)


def test_every_predicate_has_everything_it_needs():
    """Each registered predicate's one declaration carries all its users read, and what it names exists."""
    import typing

    from lifebot.envs.rewards import SHAPINGS
    from lifebot.experts.registry import SOLVERS
    from lifebot.predicates import PREDICATES, Placement

    problems = []
    for name, p in PREDICATES.items():
        checks = {
            "evaluation": callable(p.evaluate) and bool(p.doc),
            "shaping": p.shaping in SHAPINGS,
            "solver": p.solver in SOLVERS,
            "instruction template": all(f"{{{i}}}" in p.template for i in range(len(p.roles))),
            "referred template": p.referred_template is None or "{0}" in p.referred_template,
            "horizon": isinstance(p.horizon, int) and p.horizon > 0,
            "placement role": p.placement is None or p.placement in typing.get_args(Placement),
            "goal proposal": p.propose is None or callable(p.propose),
        }
        problems += [(name, need) for need, ok in checks.items() if not ok]
    assert problems == []


def test_the_worked_examples_of_the_guide_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 5
    script = "\n".join(f"exec(compile({block!r}, 'extending.md[{i}]', 'exec'), {{}})" for i, block in enumerate(blocks))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_package_registers_a_strategy_through_an_entry_point(tmp_path):
    package = tmp_path / "toy_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            '''
            from lifebot.lifelong.strategies import Strategy, Transitions

            class HalfData(Strategy):
                """Trains on the first half of each task's transitions."""
                name = "half_data"

                def training_data(self, current: Transitions) -> Transitions:
                    import torch
                    return current.subset(torch.arange(len(current) // 2))
            '''
        )
    )
    info = tmp_path / "toy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lifebot.strategies]\nhalf_data = toy_plugin:HalfData\n")
    code = textwrap.dedent(
        """
        import torch
        from lifebot.lifelong.config import RunConfig
        from lifebot.lifelong.strategies import STRATEGIES, Transitions
        import toy_plugin

        assert STRATEGIES["half_data"] is toy_plugin.HalfData
        RunConfig(suite="goal", strategy="half_data")  # a run accepts it by name
        strategy = STRATEGIES["half_data"](agent_factory=lambda: None)
        data = strategy.training_data(Transitions(torch.zeros(8, 3), torch.zeros(8, 7)))
        print(len(data))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4"
