"""A standalone evaluation of any lifebot agent checkpoint on a suite's fixed evaluation states, with videos.

Episode ``e`` of a task starts from the suite's fixed state ``e`` with the evaluation seed (as in a lifelong
run's measurements), in the control mode the agent was trained in. Successes come with a 95 % Wilson interval.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lifebot.configs import require


@dataclass(frozen=True)
class EvaluateConfig:
    """Where and how long an agent checkpoint is evaluated."""

    suite: str
    """Suite whose tasks are evaluated."""
    tasks: tuple[str, ...] = ()
    """Task names (default: every task of the suite)."""
    episodes: int = 20
    """Episodes per task, from the suite's fixed evaluation states 0..episodes-1."""
    video: Path | None = None
    """Folder for one MP4 per episode, ``<video>/<Task>/episode_<e>.mp4`` (needs ``lifebot[video]``)."""
    video_size: int = 256
    """Side of the video frames in pixels."""
    workers: int = os.cpu_count() or 1
    """Evaluation processes (without --video; videos are rendered in this process)."""

    def __post_init__(self):
        require(
            self,
            {
                "episodes": (self.episodes >= 1, "at least 1"),
                "video_size": (self.video_size >= 16, "at least 16"),
                "workers": (self.workers >= 1, "at least 1"),
            },
        )


@dataclass(frozen=True)
class TaskEvaluation:
    task: str
    successes: list[bool]
    videos: list[Path]

    @property
    def success_rate(self) -> float:
        return sum(self.successes) / len(self.successes)

    @property
    def interval(self) -> tuple[float, float]:
        from lifebot.lifelong.metrics import wilson_interval

        return wilson_interval(self.success_rate, len(self.successes))


def _filmed_episode(agent, env, episode: int, path: Path) -> bool:
    from lifebot.envs.gym_env import evaluation_seed
    from lifebot.envs.video import write_mp4

    obs, _ = env.reset(seed=evaluation_seed(episode), options={"evaluation": True})
    agent.reset()  # a stateful agent (action chunks) starts the episode afresh
    frames, info = [env.render()], {"success": False}
    for _ in range(env.horizon):
        obs, _, terminated, truncated, info = env.step(agent.predict(obs))
        frames.append(env.render())
        if terminated or truncated:
            break
    write_mp4(frames, path)
    return bool(info["success"])


def evaluate_checkpoint(checkpoint: str | Path, config: EvaluateConfig) -> list[TaskEvaluation]:
    """Success of the checkpoint's agent on each task (and its videos when ``config.video`` is set)."""
    from lifebot.agents.registry import load_agent
    from lifebot.envs.gym_env import LifebotEnv
    from lifebot.envs.vector import evaluate
    from lifebot.suites.store import load_suite

    agent = load_agent(checkpoint)
    suite = load_suite(config.suite)
    tasks = list(config.tasks) or suite.task_names
    for task in tasks:
        suite.task(task)  # unknown names fail before any episode runs
    env_kwargs = {"suite": suite.name, "control_mode": agent.control_mode}
    if agent.policy.image_keys:
        env_kwargs["obs_mode"] = "image"
    results = []
    for task in tasks:
        if config.video is None:
            result = evaluate(agent, config.episodes, num_envs=config.workers, task=task, **env_kwargs)
            results.append(TaskEvaluation(task, [bool(s) for s in result.successes], []))
            continue
        env = LifebotEnv(task=task, render_mode="rgb_array", render_size=config.video_size, **env_kwargs)
        try:
            paths = [config.video / task / f"episode_{e}.mp4" for e in range(config.episodes)]
            successes = [_filmed_episode(agent, env, e, path) for e, path in enumerate(paths)]
        finally:
            env.close()
        results.append(TaskEvaluation(task, successes, paths))
    return results
