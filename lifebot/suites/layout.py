"""Placement regions for generated scenes: where objects start and where goals point.

Regions are small squares in table coordinates (+x away from the robot, +y to its left). The layout keeps
every pair of regions far enough apart that any two objects sampled inside them cannot touch, which makes
collision-free starts a property of the spec rather than luck at reset time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lifebot.objects.catalog import get_category
from lifebot.spec.model import Region

# Where start regions' centres may lie so that the Panda (base at x = -0.56 for the 0.8 m table) reaches an
# object top-down anywhere in the region; the tests drive the end effector to the corners plus the jitter.
# Objects no goal names may stand anywhere in the table area, which robosuite's agentview camera shows whole.
WORKSPACE_LOW = np.array([-0.22, -0.26])
WORKSPACE_HIGH = np.array([0.12, 0.26])  # further out, lifting stretches the elbow straight (a singularity)
TABLE_AREA_LOW = np.array([-0.28, -0.30])
TABLE_AREA_HIGH = np.array([0.22, 0.30])
JITTER = 0.02  # half size of a start region: objects start anywhere within ±2 cm of its centre
CLEARANCE = 0.015  # minimum gap between the footprints of objects in neighbouring regions

# Named goal areas on the table, for InRegion goals ("move the can to the front left").
AREAS = {
    "front_left": (-0.15, 0.2),
    "front_right": (-0.15, -0.2),
    "back_left": (0.08, 0.2),
    "back_right": (0.08, -0.2),
    "centre": (0.0, 0.0),
}
AREA_HALF = 0.06


class LayoutFull(RuntimeError):
    """No room left for another object; the caller resamples the task."""


@dataclass
class Layout:
    """Greedy placement of object regions with rejection sampling from a seeded generator."""

    rng: np.random.Generator
    regions: list[Region] = field(default_factory=list)
    _discs: list[tuple[np.ndarray, float]] = field(default_factory=list)  # centre, reserved radius

    @staticmethod
    def radius(category: str) -> float:
        """Radius reserved around a start region's centre for an object of this category."""
        return get_category(category).footprint_radius + JITTER * np.sqrt(2)

    def reserve(self, centre, radius: float) -> None:
        self._discs.append((np.asarray(centre, dtype=float), radius))

    def fits(self, centre: np.ndarray, radius: float) -> bool:
        return all(np.linalg.norm(centre - c) >= radius + r + CLEARANCE for c, r in self._discs)

    def add(self, name: str, category: str, centre=None, reach: bool = True, attempts: int = 300) -> Region:
        """Add a start region for object ``name``: at ``centre`` if given (it must fit), else sampled in the
        workspace (``reach``) or anywhere in the table area."""
        radius = self.radius(category)
        low, high = (WORKSPACE_LOW, WORKSPACE_HIGH) if reach else (TABLE_AREA_LOW, TABLE_AREA_HIGH)
        candidates = (
            [np.asarray(centre, dtype=float)]
            if centre is not None
            else (self.rng.uniform(low, high) for _ in range(attempts))
        )
        for candidate in candidates:
            if self.fits(candidate, radius):
                self.reserve(candidate, radius)
                region = Region(f"{name}_start", _round(candidate), (JITTER, JITTER))
                self.regions.append(region)
                return region
        raise LayoutFull(f"no room for {name} ({category})")

    def add_area(self, area: str) -> Region:
        """Reserve a named goal area so nothing starts inside it."""
        centre = np.array(AREAS[area])
        self.reserve(centre, AREA_HALF * np.sqrt(2))
        region = Region(area, _round(centre), (AREA_HALF, AREA_HALF))
        self.regions.append(region)
        return region


def _round(xy: np.ndarray) -> tuple[float, float]:
    """Millimetre resolution keeps the JSON short and stable across platforms."""
    return (round(float(xy[0]), 3), round(float(xy[1]), 3))
