"""Replaying stored demonstrations to check that they reproduce their states and their success."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifebot.demos.format import DemoFile

STATE_TOLERANCE = 1e-6  # max |state difference| over an episode; replays are exact on the same machine


@dataclass(frozen=True)
class ReplayReport:
    demo: str
    steps: int
    max_state_error: float
    success_stored: bool
    success_replayed: bool

    @property
    def ok(self) -> bool:
        return self.max_state_error <= STATE_TOLERANCE and self.success_stored == self.success_replayed


def verify_file(path: str | Path, demos: list[str] | None = None) -> list[ReplayReport]:
    """Replay each demo's actions from its first state in an environment made from the file's env_args."""
    from lifebot.envs.gym_env import LifebotEnv

    with DemoFile(path) as demo_file:
        kwargs = dict(demo_file.header.env_kwargs)
        kwargs["obs_mode"] = "state"  # images are not needed to check the physics
        kwargs.pop("image_size", None)
        env = LifebotEnv(**kwargs)
        reports = []
        try:
            for name in demos or demo_file.demo_names:
                episode = demo_file.episode(name)
                env.reset(seed=episode.seed, options={"init_state": episode.states[0]})
                error, info = 0.0, {"success": False}
                for t, action in enumerate(episode.actions):
                    error = max(error, float(np.max(np.abs(env.get_state() - episode.states[t]))))
                    _, _, _, _, info = env.step(action)
                reports.append(
                    ReplayReport(
                        name, len(episode.actions), error, bool(episode.rewards[-1] > 0), bool(info["success"])
                    )
                )
        finally:
            env.close()
    return reports
