"""Private evaluation states (``lifebot suites private``): a held-out start set per task, from a secret seed.

A verified leaderboard measures submitted checkpoints on states nobody could tune to, as challenge servers do.
The operator keeps a secret (a file of at least :data:`MIN_SECRET_BYTES` random bytes) and writes, into a folder
outside ``task_suites/``, a suites folder of the same layout: ``<out>/<suite>/suite.json`` with the suite's
specs, family, seed and orderings (over the tasks written), and ``init_states/<Task>.npy`` sampled and settled
exactly as the public ones (:func:`~lifebot.suites.feasibility.sample_init_states`) but seeded from the secret
and the task's ID. The secret is recorded nowhere; the same secret regenerates the same files.
``lifebot submit verify --private <out>`` re-measures on them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifebot.configs import require
from lifebot.spec.model import TaskSpec
from lifebot.suites.generate import MAX_ATTEMPTS
from lifebot.suites.store import Suite, load_suite, suites_root, write_suite
from lifebot.versions import versions

MIN_SECRET_BYTES = 16


@dataclass(frozen=True)
class PrivateConfig:
    """How many held-out states, for which tasks; the secret itself comes from a file, never a flag."""

    num_init_states: int = 50
    """Held-out evaluation states per task."""
    tasks: int = 0
    """Only the suite's first N tasks; 0 means all."""

    def __post_init__(self):
        require(
            self,
            {
                "num_init_states": (self.num_init_states >= 1, "at least 1"),
                "tasks": (self.tasks >= 0, "at least 0 (0: all)"),
            },
        )


def read_secret(path: Path) -> bytes:
    secret = Path(path).read_bytes()
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{path}: a secret seed file holds at least {MIN_SECRET_BYTES} bytes, this one {len(secret)} "
            "(make one with: head -c 32 /dev/urandom > SECRET)"
        )
    return secret


def secret_seed(secret: bytes, task_id: str, attempt: int) -> int:
    """A task's state seed: from the secret, its ID and the attempt, and guessable from none of them without it."""
    digest = hashlib.sha256(b"lifebot-private\0" + secret + f"\0{task_id}\0{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def private_states(spec: TaskSpec, secret: bytes, count: int) -> np.ndarray:
    """``count`` held-out states of a task: the first secret-seeded attempt whose every start is feasible."""
    from lifebot.suites.feasibility import InfeasibleTask, sample_init_states  # the simulator: only when generating

    reasons = []
    for attempt in range(MAX_ATTEMPTS):
        try:
            return sample_init_states(spec, count, seed=secret_seed(secret, spec.task_id, attempt))
        except InfeasibleTask as exc:
            reasons.append(str(exc))
    raise RuntimeError(f"{spec.name}: no feasible private start set in {MAX_ATTEMPTS} attempts: {reasons[-3:]}")


def generate_private(suite_name: str, secret: bytes, out: Path, config: PrivateConfig = PrivateConfig()) -> Path:
    """Write the held-out states of ``suite_name`` under ``out/<suite>`` (never inside the public suites folder)."""
    out = Path(out)
    if out.resolve().is_relative_to(suites_root().resolve()):
        raise ValueError(f"{out}: private states go outside the public suites folder {suites_root()}")
    suite: Suite = load_suite(suite_name)
    if config.tasks > len(suite.tasks):
        raise ValueError(f"suite {suite.name} has {len(suite.tasks)} tasks, asked for {config.tasks}")
    tasks = suite.tasks[: config.tasks or None]
    states = {task.name: private_states(task.spec, secret, config.num_init_states) for task in tasks}
    kept = range(len(tasks))
    orderings = [[i for i in ordering if i in kept] for ordering in suite.orderings]
    specs = [task.spec for task in tasks]
    return write_suite(out, suite.name, suite.family, suite.seed, specs, states, orderings, versions())
