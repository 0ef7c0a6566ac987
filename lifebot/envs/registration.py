"""gymnasium registration of every task in every suite file, plus one parameterised ID.

IDs: ``lifebot/<Suite>-<Task>-v0`` for each task (``Suite`` capitalised), and ``lifebot/Task-v0`` which takes
``suite=`` and ``task=`` (or ``spec=``) keyword arguments. Entry points are strings so that
``EnvSpec.to_json()`` works and a result can record exactly how its environment was made.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym

from lifebot.suites.store import SuiteError, list_suites, load_suite

ENTRY_POINT = "lifebot.envs.gym_env:LifebotEnv"
VECTOR_ENTRY_POINT = "lifebot.envs.vector:make_vector_env"
PARAMETERISED_ID = "lifebot/Task-v0"
VERSION = 0


def env_id(suite: str, task: str, version: int = VERSION) -> str:
    return f"lifebot/{suite[:1].upper()}{suite[1:]}-{task}-v{version}"


def register_all(root: Path | None = None) -> list[str]:
    """Register every task found under the suites folder; returns the IDs registered."""
    ids = []
    if PARAMETERISED_ID not in gym.registry:
        gym.register(PARAMETERISED_ID, entry_point=ENTRY_POINT, vector_entry_point=VECTOR_ENTRY_POINT)
    for suite_name in list_suites(root):
        try:
            suite = load_suite(suite_name, root)
        except (SuiteError, ValueError) as exc:
            warnings.warn(f"lifebot: suite {suite_name!r} not registered: {exc}", stacklevel=2)
            continue
        for task in suite.tasks:
            task_env_id = env_id(suite.name, task.name)
            if task_env_id not in gym.registry:
                gym.register(
                    task_env_id,
                    entry_point=ENTRY_POINT,
                    vector_entry_point=VECTOR_ENTRY_POINT,
                    kwargs={"suite": suite.name, "task": task.name},
                )
            ids.append(task_env_id)
    return ids
