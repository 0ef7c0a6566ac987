"""Shared fixtures: small hand-written specs exercised on real MuJoCo physics."""

from __future__ import annotations

import pytest

from lifebot.spec import spec_from_dict


def base_spec_data(**overrides) -> dict:
    """A small, valid spec touching every kind of object: free objects, a fixture plate, a lidded box."""
    data = {
        "suite": "test",
        "name": "PutRedCubeOnPlate",
        "instruction": "put the red cube on the plate",
        "fixtures": [{"name": "plate", "category": "plate"}, {"name": "box", "category": "lidded_box"}],
        "objects": [
            {"name": "red_cube", "category": "red_cube"},
            {"name": "blue_cube", "category": "big_blue_cube"},
            {"name": "basket", "category": "basket"},
        ],
        "regions": [
            {"name": "plate_start", "center": [0.0, 0.15], "half_size": [0.02, 0.02]},
            {"name": "box_start", "center": [0.1, -0.2], "half_size": [0.02, 0.02]},
            {"name": "red_start", "center": [-0.1, -0.05], "half_size": [0.02, 0.02]},
            {"name": "blue_start", "center": [-0.12, 0.1], "half_size": [0.02, 0.02]},
            {"name": "basket_start", "center": [0.2, 0.0], "half_size": [0.01, 0.01]},
            {"name": "front_left", "center": [-0.2, 0.25], "half_size": [0.05, 0.05]},
        ],
        "init": [
            "InRegion(plate, plate_start)",
            "InRegion(box, box_start)",
            "InRegion(red_cube, red_start)",
            "InRegion(blue_cube, blue_start)",
            "InRegion(basket, basket_start)",
            "Closed(box)",
        ],
        "goal": ["On(red_cube, plate)"],
        "horizon": 50,
    }
    data.update(overrides)
    return data


@pytest.fixture
def spec_data() -> dict:
    return base_spec_data()


@pytest.fixture
def spec():
    return spec_from_dict(base_spec_data())


@pytest.fixture(scope="module")
def sim_env():
    """One real robosuite environment for a module's predicate and placement tests (built once: ~2 s)."""
    from lifebot.envs.task_env import SpecTaskEnv

    env = SpecTaskEnv(spec_from_dict(base_spec_data()), seed=0)
    yield env
    env.close()
