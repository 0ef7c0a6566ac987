"""Warm-start RL over several tasks: the issue-12 verdicts from ``wsrl_finetune.py``'s result files, side by side.

    python benchmarks/wsrl_summary.py runs/wsrl_ev/*/results_*.json [--figure docs/wsrl_finetune.png]

Every (task, seed) a result file holds is one pair. Per method, over its pairs: the mean success at step 0 (for
``wsrl``, its offline start), at the end, and the lowest after step 0 (the dip), and its end minus its start
with a 95 % bootstrap CI over the pairs (:func:`lifebot.lifelong.metrics.summarize`); then ``wsrl``'s end minus
every other method's end over the pairs both have; with ``--against`` (the files of another setting, e.g. a
probe's ``--set``), each method's end minus its end there, paired by (task, seed). Writes the mean curves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lifebot.jsonio import loads_strict  # noqa: E402
from lifebot.lifelong.metrics import summarize  # noqa: E402


def load_curves(paths: list[Path]) -> tuple[dict[str, dict[str, list]], list[str]]:
    """method -> "task seed" -> [(step, success)]; and a settings line per file."""
    curves: dict[str, dict[str, list]] = {}
    settings, shared = [], None
    for path in paths:
        document = loads_strict(path.read_text())
        task = document["settings"]["task"]
        rest = {k: v for k, v in document["settings"].items() if k != "task"}
        if shared is not None and rest != shared[1]:
            raise SystemExit(f"{path}: other settings than {shared[0]} (beyond the task): one protocol per summary")
        shared = shared or (path, rest)
        settings.append(f"{path}: {task}")
        for name, cell in document["cells"].items():
            method, _, seed = name.partition("|")
            if method != "pretrain":
                if f"{task} {seed}" in curves.get(method, {}):
                    raise SystemExit(f"{path}: {method} on {task} seed {seed} is in another file given too")
                curves.setdefault(method, {})[f"{task} {seed}"] = cell["curve"]
    brief = {k: v for k, v in shared[1].items() if k != "config"}
    return curves, [*settings, f"settings shared by every file: {json.dumps(brief)}"]


def as_arrays(curves: dict[str, dict[str, list]]) -> dict[str, dict[str, np.ndarray]]:
    """method -> pair -> the success at each evaluation point."""
    return {
        m: {pair: np.array([rate for _, rate in c]) for pair, c in sorted(pairs.items())} for m, pairs in curves.items()
    }


def interval(values) -> str:
    s = summarize(values)
    return f"{s.mean:+.3f} [{s.ci_low:+.3f}, {s.ci_high:+.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+", help="results_<key>.json files of wsrl_finetune.py")
    parser.add_argument("--figure", type=Path, default=Path("runs/wsrl_summary.png"))
    parser.add_argument(
        "--against",
        type=Path,
        nargs="+",
        default=[],
        help="result files of another setting: each method's end minus its end there, paired by (task, seed)",
    )
    args = parser.parse_args()
    curves, settings = load_curves(args.results)
    print("\n".join(settings))
    rates = as_arrays(curves)
    print(f"{'method':<16}{'pairs':>6}{'start':>7}{'end':>7}{'dip':>7}   end - start [95% CI]      pairs up / down")
    for method, table in rates.items():
        curve = np.stack(list(table.values()))
        gain = curve[:, -1] - curve[:, 0]
        print(
            f"{method:<16}{len(table):>6}{curve[:, 0].mean():>7.3f}{curve[:, -1].mean():>7.3f}"
            f"{curve[:, 1:].min(axis=1).mean():>7.3f}   {interval(gain):<26}"
            f"{int((gain > 0).sum())} up, {int((gain < 0).sum())} down"
        )
    for method, table in rates.items():
        shared = sorted(set(table) & set(rates.get("wsrl", {}))) if method != "wsrl" else []
        if shared:
            ends = [rates["wsrl"][pair][-1] - table[pair][-1] for pair in shared]
            print(f"wsrl end - {method} end over their {len(shared)} shared pairs: {interval(ends)}")
    if args.against:
        other = as_arrays(load_curves(args.against)[0])
        for method, table in rates.items():
            shared = sorted(set(table) & set(other.get(method, {})))
            if shared:
                ends = [table[pair][-1] - other[method][pair][-1] for pair in shared]
                print(f"{method}: end here - end in --against over {len(shared)} pairs: {interval(ends)}")
    print("pairs: " + "; ".join(f"{m} {', '.join(table)}" for m, table in rates.items()))

    figure, axis = plt.subplots(figsize=(7, 4))
    for color, (method, table) in enumerate(rates.items()):
        steps = [step for step, _ in next(iter(curves[method].values()))]
        mean = np.stack(list(table.values())).mean(axis=0)
        axis.plot(steps, mean, color=f"C{color}", marker="o", label=f"{method} ({len(table)} pairs)")
    axis.set_xlabel("online environment step")
    axis.set_ylabel("success, mean over (task, seed) pairs")
    axis.set_ylim(-0.05, 1.05)
    tasks = sorted({pair.split()[0] for table in rates.values() for pair in table})
    axis.set_title(f"mean over (task, seed) pairs; tasks: {', '.join(tasks)}", fontsize=8)
    axis.legend(fontsize=7)
    figure.tight_layout()
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.figure, dpi=100)
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
