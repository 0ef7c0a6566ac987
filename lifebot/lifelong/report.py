"""The report of a run: every metric per unit, summarised over orderings and seeds, with plots and a summary.

Everything here is recomputed from the raw matrices in the run's unit files (nothing is read from a previous
report), so a report is always the run's own. Continual World's forward transfer needs the single-task
reference curves of the same tasks: pass a ``single_task`` run as ``reference``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lifebot.atomic import atomic_output, atomic_write_bytes, atomic_write_json  # noqa: E402
from lifebot.lifelong.metrics import Summary, run_metrics, summarize_runs  # noqa: E402
from lifebot.lifelong.results import Run, UnitResult  # noqa: E402

HEADLINE = ("libero_fwt", "libero_nbt", "libero_auc")
LABELS = {
    "libero_fwt": "FWT (LIBERO) ↑",
    "libero_nbt": "NBT (LIBERO) ↓",
    "libero_auc": "AUC (LIBERO) ↑",
    "gem_acc": "ACC (GEM) ↑",
    "gem_bwt": "BWT (GEM) ↑",
    "gem_fwt": "FWT (GEM) ↑",
    "forgetting": "forgetting ↓",
    "cw_ft": "FT (Continual World) ↑",
}


def reference_curves(reference: Run) -> dict[str, np.ndarray]:
    """Each task's single-task learning curve, averaged over the reference run's units."""
    curves: dict[str, list[np.ndarray]] = {}
    for unit in reference.units:
        for task, curve in zip(unit.order, unit.c, strict=False):
            curves.setdefault(task, []).append(np.asarray(curve, dtype=float))
    return {task: np.mean(parts, axis=0) for task, parts in curves.items()}


def unit_metrics(unit: UnitResult, c_ref: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    R, c, b = unit.matrices()
    ref = None
    if c_ref is not None:
        missing = [t for t in unit.order if t not in c_ref or c_ref[t].shape != c.shape[1:]]
        if missing:
            raise ValueError(f"the reference run has no curve (of {c.shape[1]} points) for {', '.join(missing)}")
        ref = np.stack([c_ref[t] for t in unit.order])
    return run_metrics(R, c, b, ref)


@dataclass
class MetricTable:
    """Per-unit metrics and their summaries over all units and per ordering."""

    per_unit: list[dict]
    overall: dict[str, Summary]
    per_ordering: dict[int, dict[str, Summary]]


def metric_table(run: Run, reference: Run | None = None) -> MetricTable:
    units = [u for u in run.units if u.finished]
    if not units:
        raise ValueError(f"{run.root}: no finished unit yet")
    c_ref = reference_curves(reference) if reference is not None else None
    metrics = {(u.ordering, u.seed): unit_metrics(u, c_ref) for u in units}
    overall = summarize_runs(list(metrics.values()))
    per_unit = [{"ordering": o, "seed": seed, **{n: m[n] for n in overall}} for (o, seed), m in metrics.items()]
    per_ordering = {
        o: summarize_runs([m for (ordering, _), m in metrics.items() if ordering == o])
        for o in sorted({u.ordering for u in units})
    }
    return MetricTable(per_unit=per_unit, overall=overall, per_ordering=per_ordering)


def format_summary(summary: Summary) -> str:
    return f"{summary.mean:.3f} ± {summary.std:.3f} [{summary.ci_low:.3f}, {summary.ci_high:.3f}]"


def format_table(table: MetricTable) -> str:
    """The metric table as Markdown: mean ± std [95% bootstrap CI] overall, then the mean per ordering."""
    orderings = list(table.per_ordering)
    n = next(iter(table.overall.values())).n
    lines = [
        f"| metric | all {n} units: mean ± std [95% CI] | " + " | ".join(f"ordering {o}" for o in orderings) + " |",
        "|---|---|" + "---|" * len(orderings),
    ]
    for name, summary in table.overall.items():
        per = " | ".join(f"{table.per_ordering[o][name].mean:.3f}" for o in orderings)
        lines.append(f"| {LABELS.get(name, name)} | {format_summary(summary)} | {per} |")
    return "\n".join(lines)


def _short(task: str, width: int = 22) -> str:
    return task if len(task) <= width else task[: width - 1] + "…"


def save_figure(figure, path: Path) -> Path:
    with atomic_output(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    plt.close(figure)
    return path


def plot_success_matrices(run: Run, out: Path) -> list[Path]:
    """One heatmap of R per ordering (mean over its seeds), tasks in the ordering's order."""
    paths = []
    for ordering in sorted({u.ordering for u in run.units if u.finished}):
        units = [u for u in run.units if u.finished and u.ordering == ordering]
        R = np.mean([u.matrices()[0] for u in units], axis=0)
        K = len(R)
        figure, axis = plt.subplots(figsize=(3.2 + 0.8 * K, 2.4 + 0.7 * K))
        image = axis.imshow(R, vmin=0, vmax=1, cmap="viridis")
        for i in range(K):
            for j in range(K):
                axis.text(j, i, f"{R[i, j]:.2f}", ha="center", va="center", color="w" if R[i, j] < 0.6 else "k")
        labels = [_short(t) for t in units[0].order]
        axis.set_xticks(range(K), labels, rotation=45, ha="right", fontsize=7)
        axis.set_yticks(range(K), labels, fontsize=7)
        axis.set_xlabel("success on task j")
        axis.set_ylabel("after learning task i")
        axis.set_title(f"R, ordering {ordering} (mean of {len(units)} seed(s))", fontsize=9)
        figure.colorbar(image, ax=axis, fraction=0.046)
        figure.tight_layout()
        paths.append(save_figure(figure, out / f"success_matrix_o{ordering}.png"))
    return paths


def plot_learning_curves(run: Run, out: Path) -> Path:
    """Each task's curve c[k, :] on the run's timeline of gradient steps, one panel per ordering."""
    steps = np.asarray(run.protocol["eval_steps"], dtype=float)
    per_task = steps[-1]
    orderings = sorted({u.ordering for u in run.units if u.finished})
    colours = {task: plt.get_cmap("tab10")(i % 10) for i, task in enumerate(run.protocol["tasks"])}
    figure, axes = plt.subplots(1, len(orderings), figsize=(5 * len(orderings), 3.4), squeeze=False, sharey=True)
    for axis, ordering in zip(axes[0], orderings, strict=True):
        units = [u for u in run.units if u.finished and u.ordering == ordering]
        c = np.mean([u.matrices()[1] for u in units], axis=0)
        for k, task in enumerate(units[0].order):
            axis.plot(k * per_task + steps, c[k], marker="o", color=colours[task])
        axis.set_title(f"ordering {ordering} (mean of {len(units)} seed(s))", fontsize=9)
        axis.set_xlabel("gradient steps (tasks in order)")
        axis.set_ylim(-0.05, 1.05)
    axes[0][0].set_ylabel("success while learning")
    handles = [plt.Line2D([], [], color=colour, marker="o", label=_short(task, 30)) for task, colour in colours.items()]
    axes[0][-1].legend(handles=handles, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    return save_figure(figure, out / "learning_curves.png")


def plot_summaries(columns: dict[str, dict[str, Summary]], title: str, path: Path) -> Path:
    """Grouped bars: each metric's mean in every column (a label -> its summaries), with the bootstrap CI."""
    names = [n for n in next(iter(columns.values())) if all(n in column for column in columns.values())]
    width = 0.8 / len(columns)
    figure, axis = plt.subplots(figsize=(1.2 * len(names) + 2, 3.6))
    for g, (label, column) in enumerate(columns.items()):
        means = np.array([column[n].mean for n in names])
        errors = np.array(
            [[column[n].mean - column[n].ci_low for n in names], [column[n].ci_high - column[n].mean for n in names]]
        )
        axis.bar(np.arange(len(names)) + g * width, means, width, yerr=errors, capsize=2, label=label)
    axis.set_xticks(
        np.arange(len(names)) + 0.4 - width / 2, [LABELS.get(n, n) for n in names], rotation=30, ha="right", fontsize=7
    )
    axis.axhline(0, color="k", linewidth=0.5)
    axis.legend(fontsize=7)
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_metrics(table: MetricTable, out: Path) -> Path:
    """Each metric per ordering with its bootstrap CI over seeds, and over all units."""
    columns = {**{f"ordering {o}": s for o, s in table.per_ordering.items()}, "all": table.overall}
    return plot_summaries(columns, "metrics across orderings (95% bootstrap CI over seeds)", out / "metrics.png")


def write_report(run: Run, out: Path | None = None, reference: Run | None = None) -> tuple[MetricTable, Path]:
    """Plots, ``metrics.json`` and ``summary.md`` under ``out`` (default ``<run>/report``); returns the table."""
    out = Path(out or run.root / "report")
    table = metric_table(run, reference)
    matrices = plot_success_matrices(run, out)
    curves = plot_learning_curves(run, out)
    bars = plot_metrics(table, out)
    config, protocol = run.config, run.protocol
    finished = sum(u.finished for u in run.units)
    summary = [
        f"# lifebot run `{run.root.name}`",
        "",
        f"Suite **{protocol['suite']}** (version {protocol['suite_version']}), agent **{config['agent']}**, strategy "
        f"**{config['strategy']}**, {len(protocol['tasks'])} tasks, {config['steps_per_task']} gradient steps per "
        f"task; {finished} of {len(run.expected_units())} units finished (orderings {config['orderings']} × seeds "
        f"{config['seeds']}). Success over {protocol['episodes']} episodes per task from the suite's fixed "
        f"evaluation states, control mode {protocol['control_mode']}, model selection "
        f"{protocol['model_selection']}. lifebot {run.record['versions']['lifebot']}, MuJoCo "
        f"{run.record['versions']['mujoco']}, robosuite {run.record['versions']['robosuite']}, code "
        f"{run.record['code_revision']}.",
        "",
        format_table(table),
        "",
        *(f"![success matrix]({p.name})" for p in matrices),
        "",
        f"![learning curves]({curves.name})",
        "",
        f"![metrics]({bars.name})",
        "",
    ]
    atomic_write_bytes(out / "summary.md", "\n".join(summary).encode())
    document = {
        "per_unit": table.per_unit,
        "overall": {k: asdict(v) for k, v in table.overall.items()},
        "per_ordering": {str(o): {k: asdict(v) for k, v in s.items()} for o, s in table.per_ordering.items()},
    }
    atomic_write_json(out / "metrics.json", document)
    return table, out
