"""Demonstration collection speed: demos per minute and transitions per second, for one worker and for every
core, state-only and with images, measured side by side in one run.

    python benchmarks/demo_throughput.py [--suite goal] [--task-index 0] [--demos 8] [--control-mode osc_pose]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from lifebot.demos.collect import CollectConfig, collect
from lifebot.demos.format import DemoFile
from lifebot.envs.control import CONTROL_MODES, DEFAULT_CONTROL_MODE
from lifebot.suites.store import load_suite


def measure(config: CollectConfig) -> tuple[float, float]:
    start = time.perf_counter()
    (path,) = collect(config, progress=False)
    elapsed = time.perf_counter() - start
    with DemoFile(path) as demo_file:
        transitions = int(demo_file.attrs["total"])
    return config.num_demos / elapsed * 60, transitions / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="goal")
    parser.add_argument("--task-index", type=int, default=0)
    parser.add_argument("--demos", type=int, default=8)
    parser.add_argument("--image-demos", type=int, default=2)
    parser.add_argument("--control-mode", choices=CONTROL_MODES, default=DEFAULT_CONTROL_MODE)
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    task = load_suite(args.suite).tasks[args.task_index].name
    cores = os.cpu_count() or 1
    print(f"task {args.suite}/{task}, control_mode={args.control_mode} (timings include worker start-up)")
    print(f"{'':22}{'workers':>8}{'demos/min':>11}{'transitions/s':>15}")
    for images, count in ((False, args.demos), (True, args.image_demos)):
        for workers in sorted({1, cores}):
            with tempfile.TemporaryDirectory() as out:
                config = CollectConfig(
                    suite=args.suite,
                    tasks=(task,),
                    num_demos=count,
                    images=images,
                    workers=workers,
                    control_mode=args.control_mode,
                    out=Path(out),
                )
                per_minute, per_second = measure(config)
            label = "images 128x128" if images else "state only"
            print(f"{label:22}{workers:>8}{per_minute:>11.1f}{per_second:>15.1f}")


if __name__ == "__main__":
    main()
