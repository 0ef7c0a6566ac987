"""Warm-start RL over several tasks: the issue-12 verdicts from ``wsrl_finetune.py``'s result files, side by side.

    python benchmarks/wsrl_summary.py runs/wsrl_ev/*/results_*.json [--figure docs/wsrl_finetune.png]

Every (task, seed) a result file holds is one pair; over the pairs every file shares, per method: the mean
success at step 0 (for ``wsrl``, its offline start), at the end, and the lowest after step 0 (the dip), then
paired differences with 95 % bootstrap CIs over the pairs (:func:`lifebot.lifelong.metrics.summarize`): each
method's end minus its own start, and ``wsrl``'s end minus every other method's end. Writes the mean curves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lifebot.lifelong.metrics import summarize  # noqa: E402


def load_curves(paths: list[Path]) -> tuple[dict[str, dict[str, list]], list[str]]:
    """method -> "task seed" -> [(step, success)], for the (task, seed) pairs that every method has; and the
    settings lines of the files."""
    curves: dict[str, dict[str, list]] = {}
    settings = []
    for path in paths:
        document = json.loads(path.read_text())
        task = document["settings"]["task"]
        settings.append(
            f"{path}: {task}, {json.dumps({k: v for k, v in document['settings'].items() if k != 'config'})}"
        )
        for name, cell in document["cells"].items():
            method, _, seed = name.partition("|")
            if method != "pretrain":
                curves.setdefault(method, {})[f"{task} {seed}"] = cell["curve"]
    shared = set.intersection(*(set(pairs) for pairs in curves.values()))
    return {m: {p: c for p, c in pairs.items() if p in shared} for m, pairs in curves.items()}, settings


def interval(values) -> str:
    s = summarize(values)
    return f"{s.mean:+.3f} [{s.ci_low:+.3f}, {s.ci_high:+.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+", help="results_<key>.json files of wsrl_finetune.py")
    parser.add_argument("--figure", type=Path, default=Path("runs/wsrl_summary.png"))
    args = parser.parse_args()
    curves, settings = load_curves(args.results)
    print("\n".join(settings))
    pairs = sorted(next(iter(curves.values())))
    print(f"{len(pairs)} (task, seed) pairs: {', '.join(pairs)}")
    rates = {m: np.array([[rate for _, rate in curves[m][p]] for p in pairs]) for m in curves}
    print(f"{'method':<16}{'start':>7}{'end':>7}{'dip':>7}   end - start [95% CI]      pairs up / down")
    for method, table in rates.items():
        gain = table[:, -1] - table[:, 0]
        print(
            f"{method:<16}{table[:, 0].mean():>7.3f}{table[:, -1].mean():>7.3f}{table[:, 1:].min(axis=1).mean():>7.3f}"
            f"   {interval(gain):<26}{int((gain > 0).sum())} up, {int((gain < 0).sum())} down of {len(gain)}"
        )
    if "wsrl" in rates:
        for method, table in rates.items():
            if method != "wsrl":
                print(f"wsrl end - {method} end: {interval(rates['wsrl'][:, -1] - table[:, -1])}")

    figure, axis = plt.subplots(figsize=(7, 4))
    for color, (method, table) in enumerate(rates.items()):
        steps = [step for step, _ in curves[method][pairs[0]]]
        axis.plot(steps, table.mean(axis=0), color=f"C{color}", marker="o", label=method)
    axis.set_xlabel("online environment step")
    axis.set_ylabel("success, mean over (task, seed) pairs")
    axis.set_ylim(-0.05, 1.05)
    axis.set_title(f"{len(pairs)} (task, seed) pairs: {', '.join(sorted({p.split()[0] for p in pairs}))}", fontsize=8)
    axis.legend(fontsize=7)
    figure.tight_layout()
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.figure, dpi=100)
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
