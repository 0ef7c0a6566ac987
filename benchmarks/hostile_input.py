"""Time and peak memory to reject hostile spec files, and how validation scales with the number of objects.

    PYTHONPATH=. python benchmarks/hostile_input.py [--objects 1000,2000,4000,8000,75000]

Cases: the 404-byte YAML "billion laughs" spec; a 10 MB JSON spec with 75,000 objects (refused by its size);
and the same kind of spec validated in memory (``spec_from_dict``, no size limit) at growing object counts,
which shows whether checking is linear. Peak memory is Python's own allocations (tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from lifebot.spec.io import SpecError, load_spec, spec_from_dict

BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def many_objects(count: int) -> dict:
    """A spec with ``count`` cubes, each placed in its own region, and one problem at the very end."""
    return {
        "suite": "bench",
        "name": "ManyObjects",
        "instruction": "too many objects",
        "objects": [{"name": f"cube_{i}", "category": "red_cube"} for i in range(count)],
        "regions": [{"name": f"r{i}", "center": [0.0, 0.0], "half_size": [0.01, 0.01]} for i in range(count)],
        "init": [f"InRegion(cube_{i}, r{i})" for i in range(count)],
        "goal": ["On(cube_0, nowhere)"],
    }


def _outcome(what, *args) -> str:
    try:
        what(*args)
    except SpecError as exc:
        return str(exc)
    return "accepted"


def measure(what, *args) -> tuple[float, float, str]:
    """Wall time of one call, then its peak memory in a second call (tracemalloc slows the code it watches)."""
    start = time.perf_counter()
    outcome = _outcome(what, *args)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    _outcome(what, *args)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, outcome


def report(label: str, seconds: float, peak: float, outcome: str) -> None:
    print(f"{label:<44} {seconds * 1000:9.1f} ms {peak:9.2f} MiB  {outcome[-90:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", default="1000,2000,4000,8000,75000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bomb = Path(folder) / "bomb.yaml"
        bomb.write_text(BILLION_LAUGHS)
        report(f"billion laughs ({bomb.stat().st_size} bytes)", *measure(load_spec, bomb))
        big = Path(folder) / "big.json"
        big.write_text(json.dumps(many_objects(75_000)))
        report(f"75,000 objects ({big.stat().st_size / 1e6:.1f} MB file)", *measure(load_spec, big))
    for count in [int(c) for c in args.objects.split(",")]:
        report(f"spec_from_dict, {count} objects (in memory)", *measure(spec_from_dict, many_objects(count)))


if __name__ == "__main__":
    main()
