"""A submission's figures as PNG files: its success matrices and its learning curves, one panel per unit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from lifebot.lifelong.results import unit_name

PANEL_INCHES = 2.6
MAX_COLUMNS = 5
PNG_METADATA = {"Software": None}  # no matplotlib version in the file: the same submission gives the same bytes


def _grid(count: int) -> tuple[Figure, list]:
    columns = min(MAX_COLUMNS, count)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(PANEL_INCHES * columns + 0.8, PANEL_INCHES * rows + 0.3), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for extra in axes[count:]:
        extra.set_visible(False)
    return figure, list(axes[:count])


def success_heatmaps(units: list[dict], path: Path) -> Path:
    """R of every unit: row i = after learning the i-th task of its order, column j = the j-th task."""
    figure, axes = _grid(len(units))
    image = None
    for axis, unit in zip(axes, units, strict=True):
        R = np.asarray(unit["R"], dtype=float)
        K = len(R)
        image = axis.imshow(R, vmin=0.0, vmax=1.0, cmap="viridis")
        axis.set_title(unit_name(unit["ordering"], unit["seed"]), fontsize=9)
        axis.set_xticks(range(K), [str(j + 1) for j in range(K)], fontsize=7)
        axis.set_yticks(range(K), [str(i + 1) for i in range(K)], fontsize=7)
        axis.set_xlabel("task evaluated", fontsize=8)
        axis.set_ylabel("after learning task", fontsize=8)
        if K <= 10:
            for (i, j), value in np.ndenumerate(R):
                axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="w" if value < 0.6 else "k")
    figure.colorbar(image, ax=axes, shrink=0.8, label="success")
    figure.savefig(path, dpi=100, metadata=PNG_METADATA)
    return path


def learning_curves(units: list[dict], eval_steps: list[int], path: Path) -> Path:
    """c of every unit: each task's success at its evaluation points while it is being learned."""
    figure, axes = _grid(len(units))
    for axis, unit in zip(axes, units, strict=True):
        for k, curve in enumerate(unit["c"]):
            axis.plot(eval_steps, curve, marker="o", markersize=3, label=str(k + 1))
        axis.set_title(unit_name(unit["ordering"], unit["seed"]), fontsize=9)
        axis.set_ylim(-0.05, 1.05)
        axis.set_xlabel("gradient steps into the task", fontsize=8)
        axis.set_ylabel("success", fontsize=8)
        axis.tick_params(labelsize=7)
        if len(unit["c"]) <= 10:
            axis.legend(title="task", fontsize=6, title_fontsize=7)
    figure.savefig(path, dpi=100, metadata=PNG_METADATA)
    return path
