"""Object geometry measured from the compiled model rather than trusted from robosuite's object metadata.

robosuite's XML objects report bottom/top offsets from marker sites that do not match their collision meshes,
so placement heights and predicates use bounding boxes computed from the collision geoms themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CORNER_SIGNS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
CONTAINER_FLOOR = 0.01  # height of a container's inside floor above its lowest point


@dataclass(frozen=True)
class ObjectGeometry:
    """Extents of an upright object relative to its root body origin (metres)."""

    bottom: float  # distance from the origin down to the lowest point
    top: float  # height of the highest point above the origin
    half_xy: tuple[float, float]
    floor: float  # height of the surface something put "in" it rests on (top for non-containers)

    @property
    def footprint_radius(self) -> float:
        return float(np.hypot(*self.half_xy))


def world_aabb(sim, geom_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-frame axis-aligned bounding box of the given geoms in the current state."""
    model, data = sim.model._model, sim.data._data
    local = model.geom_aabb[geom_ids]  # (n, 6): centre, half sizes in the geom frame
    offsets = local[:, None, :3] + local[:, None, 3:] * _CORNER_SIGNS[None]  # (n, 8, 3)
    rotations = data.geom_xmat[geom_ids].reshape(-1, 3, 3)
    corners = np.einsum("nij,nkj->nki", rotations, offsets) + data.geom_xpos[geom_ids][:, None, :]
    corners = corners.reshape(-1, 3)
    return corners.min(axis=0), corners.max(axis=0)


def measure_geometry(sim, handles: dict, containers: set[str]) -> dict[str, ObjectGeometry]:
    """Measure each scene object's extents in the model's initial (upright) configuration."""
    result = {}
    for name, handle in handles.items():
        low, high = world_aabb(sim, handle.geom_ids)
        origin = sim.data.xpos[handle.body_id]
        half_xy = tuple(float(v) for v in np.maximum(origin[:2] - low[:2], high[:2] - origin[:2]))
        bottom, top = float(origin[2] - low[2]), float(high[2] - origin[2])
        floor = -bottom + CONTAINER_FLOOR if name in containers else top
        result[name] = ObjectGeometry(bottom=bottom, top=top, half_xy=half_xy, floor=floor)
    return result
