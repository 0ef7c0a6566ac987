"""The object catalog: every category builds in MuJoCo and its recorded size matches its collision geometry."""

from __future__ import annotations

import numpy as np
import pytest

from lifebot.envs.task_env import SpecTaskEnv
from lifebot.objects.catalog import CATALOG
from lifebot.spec import spec_from_dict

GRIPPER_OPENING = 0.08  # Panda fingers, fully open
GRID = [(x, y) for x in (-0.3, -0.1, 0.1, 0.3) for y in (-0.3, -0.1, 0.1, 0.3)]


def _scene(categories: list[str]) -> SpecTaskEnv:
    fixtures = [c for c in categories if not CATALOG[c].movable]
    movable = [c for c in categories if CATALOG[c].movable]
    spec = spec_from_dict(
        {
            "suite": "test",
            "name": "Catalog",
            "instruction": "look at everything",
            "fixtures": [{"name": f"o_{c}", "category": c} for c in fixtures],
            "objects": [{"name": f"o_{c}", "category": c} for c in movable],
            "regions": [
                {"name": f"r{i}", "center": list(xy), "half_size": [0.001, 0.001]} for i, xy in enumerate(GRID)
            ],
            "init": [f"InRegion(o_{c}, r{i})" for i, c in enumerate(fixtures + movable)],
            "goal": [f"Lifted(o_{next(c for c in movable if CATALOG[c].graspable)})"],
        }
    )
    return SpecTaskEnv(spec, seed=0)


HALVES = [sorted(CATALOG)[: len(CATALOG) // 2], sorted(CATALOG)[len(CATALOG) // 2 :]]


@pytest.mark.parametrize("categories", HALVES, ids=["first-half", "second-half"])
def test_every_category_builds_and_matches_its_recorded_size(categories):
    env = _scene(categories)
    try:
        for category in categories:
            geometry = env.geometry[f"o_{category}"]
            recorded = np.array(CATALOG[category].half_extent)
            measured = np.array([*geometry.half_xy, (geometry.bottom + geometry.top) / 2])
            np.testing.assert_allclose(measured, recorded, atol=0.003, err_msg=category)
        assert env.scene_contacts() == []
    finally:
        env.close()


def test_graspable_objects_fit_the_gripper():
    for category in CATALOG.values():
        if category.graspable:
            assert 2 * min(category.half_extent[:2]) < GRIPPER_OPENING - 0.02, category.name


def test_fixture_flags_agree_with_models():
    for category in CATALOG.values():
        if category.fixture_ok:
            assert category.build("probe", True).joints == [] or category.kind == "articulated"
        if not category.movable:
            assert category.fixture_ok
