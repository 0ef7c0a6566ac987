"""The baseline card: single-task success of each imitation agent on every task, over seeds, with spread.

    LIFEBOT_THREADS=1 python benchmarks/baseline_card.py [--suites spatial object goal long] [--tasks N]
        [--agents bc chunking] [--seeds 0 1 2] [--demos 50] [--noise 0.0] [--steps 3000] [--episodes 50]
        [--workers 2] [--options key=value ...] [--out runs/baseline_card] [--report docs/baseline_card]

For every (suite, task, agent, seed) cell: scripted demonstrations of the task (collected once per suite and
setting, resumable), a fresh agent trained on them alone, and its success on the task's fixed evaluation states
0..episodes-1. ``--options`` sets fields of every agent's config (``ensemble_decay=-0.3``). Each finished cell
is written at once to ``<out>/cells_<settings>.json`` (atomically), so a killed card resumes without redoing
cells, and card runs over different ``--seeds`` can share one ``--out``. Writes ``<report>.md`` (per-task mean
and spread over seeds, per-suite means) and ``<report>.png``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lifebot.agents.config import parse_options  # noqa: E402
from lifebot.agents.registry import agent_class, load_agent_config  # noqa: E402
from lifebot.atomic import atomic_output  # noqa: E402
from lifebot.configs import ConfigError  # noqa: E402
from lifebot.demos.collect import CollectConfig, collect  # noqa: E402
from lifebot.demos.dataset import DemoDataset  # noqa: E402
from lifebot.envs.control import DEFAULT_CONTROL_MODE  # noqa: E402
from lifebot.envs.vector import evaluate  # noqa: E402
from lifebot.suites.store import load_suite  # noqa: E402
from lifebot.threads import set_threads  # noqa: E402
from lifebot.versions import versions  # noqa: E402

AGENTS = ("bc", "chunking")  # the imitation agents, each with its policies/<agent>.yaml config


def train_and_evaluate(args, agent_name: str, suite: str, task: str, path: Path, seed: int) -> dict:
    start = time.perf_counter()
    config = dataclasses.replace(
        load_agent_config(agent_name), steps=args.steps, seed=seed, device="cpu", **args.agent_fields
    )
    dataset = DemoDataset([path], max_demos_per_file=args.demos)
    agent = agent_class(agent_name).from_dataset(config, dataset)
    losses = agent.learn(agent.transitions(dataset))
    trained = time.perf_counter()
    result = evaluate(
        agent,
        args.episodes,
        num_envs=args.workers,
        suite=suite,
        task=task,
        control_mode=args.control_mode,
        policy_control_mode=agent.control_mode,
    )
    return {
        "success": result.success_rate,
        "final_loss": float(np.mean(losses[-100:])),
        "train_s": trained - start,
        "eval_s": time.perf_counter() - trained,
    }


def save_cells(path: Path, cells: dict) -> dict:
    """Write the cells atomically, merged with those a card run beside this one (other seeds) wrote there."""
    if path.exists():
        cells = {**json.loads(path.read_text()), **cells}
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(cells, indent=1, sort_keys=True))
    return cells


def cell_key(agent: str, suite: str, task: str, seed: int) -> str:
    return f"{agent}/{suite}/{task}/{seed}"


def write_report(args, cells: dict, tasks: dict[str, list[str]]) -> None:
    def rates(agent: str, suite: str, name: str) -> list[float]:
        """The task's success over the seeds measured so far."""
        return [cells[k]["success"] for s in args.seeds if (k := cell_key(agent, suite, name, s)) in cells]

    lines = [
        "# Baseline card: single-task success",
        "",
        f"{args.demos} demos per task (noise {args.noise}), {args.steps} gradient steps, {args.control_mode}, "
        + (f"agent options {', '.join(args.options)}, " if args.options else "")
        + f"success on fixed evaluation states 0..{args.episodes - 1}, seeds {', '.join(map(str, args.seeds))}.",
        f"Versions: {json.dumps(versions())}.",
        "",
        "Command: `LIFEBOT_THREADS=1 python benchmarks/baseline_card.py "
        f"--suites {' '.join(args.suites)}"
        + (f" --tasks {args.tasks}" if args.tasks else "")
        + f" --agents {' '.join(args.agents)} --seeds {' '.join(map(str, args.seeds))} "
        f"--demos {args.demos} --noise {args.noise} --steps {args.steps} --episodes {args.episodes}"
        + (f" --options {' '.join(args.options)}" if args.options else "")
        + "`",
        "",
    ]
    figure, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 4), squeeze=False)
    for axis, (suite, names) in zip(axes[0], tasks.items(), strict=True):
        lines += [f"## {suite}", "", "| task | " + " | ".join(args.agents) + " |", "|---|" + "---|" * len(args.agents)]
        suite_means = {a: [] for a in args.agents}
        for name in names:
            row = [name]
            for agent in args.agents:
                seen = rates(agent, suite, name)
                if seen:
                    suite_means[agent].append(np.mean(seen))
                    row.append(
                        f"{np.mean(seen):.2f} ± {np.std(seen):.2f} (min {min(seen):.2f}, max "
                        f"{max(seen):.2f}, n={len(seen)})"
                    )
                else:
                    row.append("–")
            lines.append("| " + " | ".join(row) + " |")
        lines.append(
            "| **mean** | "
            + " | ".join(f"**{np.mean(v):.3f}** (lowest task {min(v):.2f})" if v else "–" for v in suite_means.values())
            + " |"
        )
        lines.append("")
        for i, agent in enumerate(args.agents):
            means = [np.mean(rates(agent, suite, n) or [np.nan]) for n in names]
            spreads = [np.std(rates(agent, suite, n) or [np.nan]) for n in names]
            axis.bar(
                np.arange(len(names)) + 0.8 * i / len(args.agents),
                means,
                0.8 / len(args.agents),
                yerr=spreads,
                label=agent,
            )
        axis.set_title(suite)
        axis.set_ylim(0, 1.05)
        axis.set_xticks(range(len(names)), [n[:18] for n in names], rotation=70, fontsize=6)
        axis.set_ylabel("success (mean ± std over seeds)")
        axis.legend(fontsize=7)
    figure.tight_layout()
    args.report.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.report.with_suffix(".png"), dpi=90)
    args.report.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=["spatial", "object", "goal", "long"])
    parser.add_argument("--tasks", type=int, default=None, help="the first N tasks of each suite (default: all)")
    parser.add_argument("--agents", nargs="+", choices=AGENTS, default=list(AGENTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--demos", type=int, default=50)
    parser.add_argument("--noise", type=float, default=CollectConfig.noise)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--control-mode", default=DEFAULT_CONTROL_MODE)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--options", nargs="*", default=[], help="key=value fields of every agent's config")
    parser.add_argument("--out", type=Path, default=Path("runs/baseline_card"))
    parser.add_argument("--report", type=Path, default=Path("docs/baseline_card"))
    args = parser.parse_args()
    try:
        args.agent_fields = parse_options(args.options, "--options")
    except ConfigError as exc:
        parser.error(str(exc))
    set_threads()

    settings = f"d{args.demos}_n{args.noise}_s{args.steps}_e{args.episodes}_{args.control_mode}"
    settings += "".join(f"_{option}" for option in args.options)
    cells_path = args.out / f"cells_{settings}.json"  # a cell is only reused under the same settings
    cells = json.loads(cells_path.read_text()) if cells_path.exists() else {}
    tasks = {}
    for suite in args.suites:
        names = load_suite(suite).task_names[: args.tasks]
        tasks[suite] = names
        demos = args.out / f"demos_n{args.noise}_{args.control_mode}"
        paths = collect(
            CollectConfig(
                suite=suite,
                tasks=tuple(names),
                num_demos=args.demos,
                workers=args.workers,
                control_mode=args.control_mode,
                noise=args.noise,
                out=demos,
            )
        )
        for name, path in zip(names, paths, strict=True):
            for agent in args.agents:
                for seed in args.seeds:
                    key = cell_key(agent, suite, name, seed)
                    if key in cells:
                        continue
                    cells[key] = train_and_evaluate(args, agent, suite, name, path, seed)
                    print(
                        f"{key}: success {cells[key]['success']:.2f} "
                        f"(train {cells[key]['train_s']:.0f} s, eval {cells[key]['eval_s']:.0f} s)",
                        flush=True,
                    )
                    cells = save_cells(cells_path, cells)
    write_report(args, save_cells(cells_path, cells), tasks)


if __name__ == "__main__":
    main()
