"""Demonstration files as Minari datasets, for tools that read Minari (``pip install 'lifebot[minari]'``).

The HDF5 files stay the source of truth; an export is a copy. Each file becomes one dataset,
``lifebot/<suite>-<Task>-v0`` by default, under Minari's dataset folder (``MINARI_DATASETS_PATH``, or the
``root`` given). Per episode: the observations (``obs`` and the final ``next_obs``: T+1 entries of every key),
the actions, rewards, terminations (the step where the goal was reached) and truncations (none: demonstrations
end on success). The dataset records the gymnasium environment spec (with the file's control mode and
observation mode), so ``dataset.recover_environment()`` makes the environment it came from.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np

from lifebot.demos.format import DemoFile
from lifebot.envs.gym_env import observation_space


def dataset_id(demo_file: DemoFile) -> str:
    spec = demo_file.task_spec
    return f"lifebot/{spec.suite}-{spec.name}-v0"


def _env_spec(env_args: dict) -> gym.envs.registration.EnvSpec | None:
    """The registered environment with the file's keyword arguments; None for a task that is not registered."""
    if env_args["env_name"] not in gym.registry:
        return None
    spec = gym.spec(env_args["env_name"])
    return dataclasses.replace(spec, kwargs={**spec.kwargs, **env_args["env_kwargs"]})


def export_minari(path: str | Path, root: str | Path | None = None):
    """Write the demonstrations of ``path`` as a Minari dataset; returns the ``MinariDataset``."""
    try:
        import minari
        from minari.data_collector import EpisodeBuffer
    except ImportError:
        raise RuntimeError("the Minari export needs minari: pip install 'lifebot[minari]'") from None
    if root is not None:
        os.environ["MINARI_DATASETS_PATH"] = str(Path(root).resolve())
    with DemoFile(path) as demo_file:
        header, kwargs = demo_file.header, demo_file.header.env_kwargs
        buffers = []
        for index, demo in enumerate(demo_file.demo_names):
            episode = demo_file.episode(demo)
            observations = {k: np.concatenate([v, episode.next_obs[k][-1:]]) for k, v in episode.obs.items()}
            buffers.append(
                EpisodeBuffer(
                    id=index,
                    seed=episode.seed,
                    observations=observations,
                    actions=episode.actions.astype(np.float32),
                    rewards=episode.rewards.astype(np.float64).tolist(),
                    terminations=episode.dones.astype(bool).tolist(),
                    truncations=[False] * episode.num_samples,
                )
            )
        space = observation_space(kwargs.get("obs_mode", "state"), kwargs.get("image_size", 128))
        env = _env_spec(header.env_args)
        with warnings.catch_warnings():
            for unknown in ("author_email", "code_permalink"):  # a copy of local files has neither
                warnings.filterwarnings("ignore", message=f"`{unknown}` is set to None")
            return minari.create_dataset_from_buffers(
                dataset_id=dataset_id(demo_file),
                buffer=buffers,
                env=env,
                eval_env=env,
                action_space=gym.spaces.Box(-1.0, 1.0, shape=(7,), dtype=np.float32),
                observation_space=gym.spaces.Dict({k: space[k] for k in demo_file.obs_keys()}),
                algorithm_name=f"lifebot scripted expert ({header.control_mode})",
                author="lifebot",
                description=f"{header.task_spec.instruction} (exported from {Path(path).name}, lifebot demos)",
                data_format="hdf5",
            )
