"""Pictures of a suite's tasks from the agentview camera, at each task's first evaluation state."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from lifebot.envs.gym_env import LifebotEnv  # noqa: E402
from lifebot.suites.store import load_suite  # noqa: E402


def render_first_state(size: int, options: dict | None = None, **env_kwargs) -> np.ndarray:
    """The agentview picture of a task's first state (``options`` as for ``reset``)."""
    env = LifebotEnv(render_mode="rgb_array", render_size=size, **env_kwargs)
    try:
        env.reset(seed=0, options=options)
        return env.render()
    finally:
        env.close()


def render_suite(suite_name: str, out: Path, size: int = 384) -> list[Path]:
    """Write ``<task>.png`` per task and ``suite.png`` (all tasks with their instructions); return the paths."""
    suite = load_suite(suite_name)
    out.mkdir(parents=True, exist_ok=True)
    frames, paths = [], []
    for task in tqdm(suite.tasks, desc=f"render {suite.name}", unit="task"):
        frame = render_first_state(size, {"init_state_index": 0}, suite=suite.name, task=task.name)
        path = out / f"{task.name}.png"
        plt.imsave(path, frame)
        frames.append((task, frame))
        paths.append(path)
    columns = min(5, len(frames))
    rows = math.ceil(len(frames) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.6 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, (task, frame) in zip(axes.flat, frames, strict=False):
        axis.imshow(frame)
        axis.set_title(textwrap.fill(task.spec.instruction, 34), fontsize=8)
    figure.suptitle(f"lifebot suite {suite.name} ({suite.version})")
    figure.tight_layout()
    sheet = out / "suite.png"
    figure.savefig(sheet, dpi=100)
    plt.close(figure)
    return paths + [sheet]
