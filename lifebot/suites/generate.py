"""Generating suite files: specs from a family, checked in simulation, with evaluation states and orderings."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lifebot.configs import require
from lifebot.spec.io import spec_from_dict
from lifebot.spec.model import TaskSpec
from lifebot.suites.families import FAMILIES
from lifebot.suites.layout import LayoutFull
from lifebot.suites.store import write_suite
from lifebot.versions import versions

MAX_ATTEMPTS = 200


@dataclass(frozen=True)
class GenerateConfig:
    """How a suite is generated; the same config reproduces the same files byte for byte."""

    seed: int = 0
    """Master seed; every task slot derives its own generator from (seed, family, slot, attempt)."""
    num_init_states: int = 50
    """Fixed evaluation initial states stored per task."""
    num_orderings: int = 5
    """Task orderings stored with the suite: ordering 0 is the identity, the rest seeded permutations."""
    size: int | None = None
    """Number of tasks; the family's default when None."""

    def __post_init__(self):
        require(
            self,
            {
                "num_init_states": (self.num_init_states >= 1, "at least 1"),
                "num_orderings": (self.num_orderings >= 1, "at least 1"),
                "size": (self.size is None or self.size >= 1, "at least 1"),
            },
        )


def seeded(seed: int, family: str, *path: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(family.encode()), *path])


def family_context(family: str, config: GenerateConfig):
    """The structure a family's tasks share (made once per suite from its own seeded generator)."""
    return FAMILIES[family].make_context(seeded(config.seed, family, 0xC0))


def generate_task(
    family: str, slot: int, config: GenerateConfig, context, taken: set[str]
) -> tuple[TaskSpec, np.ndarray]:
    """The first attempt for ``slot`` that lays out, is new, and passes the feasibility checks in simulation."""
    from lifebot.suites.feasibility import InfeasibleTask, sample_init_states  # the simulator: only when generating

    make_task = FAMILIES[family].make_task
    reasons: list[str] = []
    for attempt in range(MAX_ATTEMPTS):
        try:
            spec = make_task(seeded(config.seed, family, slot, attempt), slot, attempt, context)
        except LayoutFull as exc:
            reasons.append(str(exc))
            continue
        if spec.name in taken:
            reasons.append(f"duplicate {spec.name}")
            continue
        spec = spec_from_dict(spec.to_dict(), source=f"generated {family}[{slot}]")  # the same checks as a file
        try:
            states = sample_init_states(spec, config.num_init_states, seed=_state_seed(config.seed, family, slot))
        except InfeasibleTask as exc:
            reasons.append(str(exc))
            continue
        return spec, states
    raise RuntimeError(f"{family}[{slot}]: no feasible task in {MAX_ATTEMPTS} attempts; last reasons: {reasons[-3:]}")


def _state_seed(seed: int, family: str, slot: int) -> int:
    return int(seeded(seed, family, slot, 0xE7A1).integers(2**31))


def orderings(num_tasks: int, count: int, rng: np.random.Generator) -> list[list[int]]:
    result = [list(range(num_tasks))]
    while len(result) < count:
        candidate = [int(i) for i in rng.permutation(num_tasks)]
        if candidate not in result or num_tasks < 3:
            result.append(candidate)
    return result


def generate_suite(
    family: str, root: Path, config: GenerateConfig = GenerateConfig(), name: str | None = None, progress: bool = True
) -> Path:
    """Generate one suite of ``family`` and write it under ``root/<name>`` (name defaults to the family)."""
    if family not in FAMILIES:
        raise KeyError(f"unknown suite family {family!r}; known: {', '.join(FAMILIES)}")
    fam = FAMILIES[family]
    size = config.size or fam.size
    context = family_context(family, config)
    specs, states = [], {}
    for slot in tqdm(range(size), desc=f"suite {name or family}", unit="task", disable=not progress):
        spec, init = generate_task(family, slot, config, context, {s.name for s in specs})
        specs.append(spec)
        states[spec.name] = init
    order_rng = seeded(config.seed, family, 0x0D)
    return write_suite(
        root,
        name or family,
        family,
        config.seed,
        specs,
        states,
        orderings(size, config.num_orderings, order_rng),
        versions(),
    )
