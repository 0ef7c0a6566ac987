"""Several runs of one protocol side by side: each metric with its CI, and paired differences from a baseline run.

Runs compare only when they measured the same thing (the same suite files, evaluation states and episodes: the
same ``protocol`` in run.json, where an ordering both hold is one order). Differences from the baseline are
paired by unit (same ordering and seed, so the same task order and evaluation episodes), which removes the
ordering-to-ordering spread that the per-run CIs carry; a difference whose CI excludes 0 is what "A beats B" means here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from lifebot.atomic import atomic_write_bytes, atomic_write_json
from lifebot.lifelong.metrics import Summary, summarize
from lifebot.lifelong.report import LABELS, MetricTable, format_summary, metric_table, plot_summaries
from lifebot.lifelong.results import Run


@dataclass
class Comparison:
    """The runs' labels, each run's metric table, and each run's paired difference from the first (baseline)."""

    labels: list[str]
    tables: list[MetricTable]
    differences: list[dict[str, Summary]]
    """``differences[i][metric]``: run i minus the baseline over the units both finished (empty for i = 0)."""

    @property
    def metrics(self) -> list[str]:
        return [name for name in self.tables[0].overall if all(name in t.overall for t in self.tables)]


AGENT_SIDE = {"init_checkpoint_sha256"}  # where the agent started (with or without pretraining): compared, not fixed


def check_same_protocol(runs: list[Run]) -> None:
    """Refuse runs whose measurements differ (naming the runs and the protocol entries that differ); runs of
    different orderings compare (differences pair the units they share) when a shared ordering is one order.
    The agent's start (:data:`AGENT_SIDE`) may differ, as its config may: that is what a comparison varies."""
    first = runs[0]
    for run in runs[1:]:
        keys = {*first.protocol, *run.protocol} - {"orders"} - AGENT_SIDE
        differ = sorted(k for k in keys if first.protocol.get(k) != run.protocol.get(k))
        theirs, ours = run.protocol.get("orders", {}), first.protocol.get("orders", {})
        if any(theirs[o] != ours[o] for o in set(theirs) & set(ours)):  # runs may hold different orderings
            differ.append("orders")
        if differ:
            raise ValueError(
                f"{run.root} and {first.root} measured different protocols ({', '.join(differ)} differ): "
                "their metrics do not compare"
            )


def default_labels(runs: list[Run]) -> list[str]:
    """The strategy of each run, with its agent where the runs' agents differ."""
    agents = {run.config["agent"] for run in runs}
    return [
        run.config["strategy"] if len(agents) == 1 else f"{run.config['agent']} / {run.config['strategy']}"
        for run in runs
    ]


def paired_differences(table: MetricTable, baseline: MetricTable) -> dict[str, Summary]:
    """Per metric, the summary of (run − baseline) over the (ordering, seed) units both finished."""
    base = {(u["ordering"], u["seed"]): u for u in baseline.per_unit}
    pairs = [(u, base[(u["ordering"], u["seed"])]) for u in table.per_unit if (u["ordering"], u["seed"]) in base]
    if not pairs:
        return {}
    names = [n for n in table.overall if n in baseline.overall]
    return {n: summarize([unit[n] - reference[n] for unit, reference in pairs]) for n in names}


def compare_runs(runs: list[Run], labels: list[str] | None = None) -> Comparison:
    if len(runs) < 2:
        raise ValueError("a comparison needs at least two runs")
    labels = labels or default_labels(runs)
    if len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    check_same_protocol(runs)
    tables = [metric_table(run) for run in runs]
    differences = [{}, *(paired_differences(t, tables[0]) for t in tables[1:])]
    return Comparison(labels, tables, differences)


def format_comparison(comparison: Comparison) -> str:
    """Two Markdown tables: every run's metrics (mean ± std [95% CI], units), then the paired differences."""
    names = comparison.metrics
    header = "| run | units | " + " | ".join(LABELS.get(n, n) for n in names) + " |"
    rule = "|---|---|" + "---|" * len(names)
    lines = [header, rule]
    for label, table in zip(comparison.labels, comparison.tables, strict=True):
        n = next(iter(table.overall.values())).n
        lines.append(f"| {label} | {n} | " + " | ".join(format_summary(table.overall[m]) for m in names) + " |")
    baseline = comparison.labels[0]
    lines += ["", f"Paired differences from **{baseline}** (same ordering and seed), mean [95% CI]:", ""]
    lines += [header.replace("| units |", "| pairs |"), rule]
    for label, difference in zip(comparison.labels[1:], comparison.differences[1:], strict=True):
        if not difference:
            lines.append(f"| {label} − {baseline} | 0 | " + " | ".join("—" for _ in names) + " |")
            continue
        n = next(iter(difference.values())).n
        cells = [f"{d.mean:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]" for d in (difference[m] for m in names)]
        lines.append(f"| {label} − {baseline} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_comparison(comparison: Comparison, out: Path) -> Path:
    """Each metric's mean per run with its bootstrap CI over units."""
    columns = {label: table.overall for label, table in zip(comparison.labels, comparison.tables, strict=True)}
    return plot_summaries(columns, "metrics per run (95% bootstrap CI over units)", out / "comparison.png")


def write_comparison(runs: list[Run], out: Path, labels: list[str] | None = None) -> tuple[Comparison, Path]:
    """``comparison.md``, ``comparison.json`` and ``comparison.png`` under ``out``."""
    comparison = compare_runs(runs, labels)
    out = Path(out)
    figure = plot_comparison(comparison, out)
    protocol, record = runs[0].protocol, runs[0].record
    text = [
        f"# Comparison on suite `{protocol['suite']}`",
        "",
        f"Suite version {protocol['suite_version']}, {len(protocol['tasks'])} tasks, {protocol['episodes']} "
        f"episodes per task from the fixed evaluation states, control mode {protocol['control_mode']}, model "
        f"selection {protocol['model_selection']}; lifebot {record['versions']['lifebot']}, MuJoCo "
        f"{record['versions']['mujoco']}, robosuite {record['versions']['robosuite']}. Runs: "
        + ", ".join(f"**{label}** (`{run.root.name}`)" for label, run in zip(comparison.labels, runs, strict=True))
        + ".",
        "",
        format_comparison(comparison),
        "",
        f"![comparison]({figure.name})",
        "",
    ]
    atomic_write_bytes(out / "comparison.md", "\n".join(text).encode())
    document = {
        "runs": [
            {
                "label": label,
                "run": str(run.root),
                "overall": {k: asdict(v) for k, v in table.overall.items()},
                "difference_from_baseline": {k: asdict(v) for k, v in difference.items()},
            }
            for label, run, table, difference in zip(
                comparison.labels, runs, comparison.tables, comparison.differences, strict=True
            )
        ]
    }
    atomic_write_json(out / "comparison.json", document)
    return comparison, out
