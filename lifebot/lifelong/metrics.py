"""Lifelong-learning metrics as pure functions over success matrices (the formulas of shared/DESIGN.md).

Notation: tasks in the order of the run, ``K`` of them, 0-based indices in code (1-based in the formulas).

- ``R[i, j]``: success rate on task ``j`` measured after learning task ``i`` (shape K × K).
- ``c[k, e]``: success on task ``k`` at evaluation point ``e`` while learning it (shape K × E).
- ``b[j]``: success of the untrained agent on task ``j`` (GEM's forward-transfer baseline).
- ``c_ref[k, e]``: the single-task reference curve of task ``k`` (Continual World's forward transfer).

Edge conventions, stated once here and tested:
- LIBERO NBT and the forgetting measures average over the tasks that have a later task (k < K); with a single
  task they are 0.
- LIBERO AUC for the last task is its FWT alone (there are no later rows).
- GEM BWT averages over j < K and GEM FWT over j > 1; each is 0 when that set is empty (K = 1).
- Continual World's forward transfer of a task whose reference curve is already perfect (AUC_b = 1) is 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lifebot.registry import Registry


def _check(R: np.ndarray) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        raise ValueError(f"R must be square (K × K), got shape {R.shape}")
    if np.any(R < 0) or np.any(R > 1) or not np.all(np.isfinite(R)):
        raise ValueError("success rates must lie in [0, 1]")
    return R


def held_at_best(curve: np.ndarray) -> np.ndarray:
    """A learning curve with every point after its (first) best replaced by the best value (LIBERO)."""
    curve = np.asarray(curve, dtype=float)
    best = int(np.argmax(curve))
    held = curve.copy()
    held[best:] = curve[best]
    return held


def libero_fwt_per_task(c: np.ndarray) -> np.ndarray:
    """FWT_k = mean_e c[k, e], with the curve held at its best after the best point."""
    return np.array([held_at_best(row).mean() for row in np.asarray(c, dtype=float)])


def libero_nbt_per_task(R: np.ndarray) -> np.ndarray:
    """NBT_k = mean_{τ>k} (R[k, k] − R[τ, k]) for k < K."""
    R = _check(R)
    K = len(R)
    return np.array([np.mean(R[k, k] - R[k + 1 :, k]) for k in range(K - 1)])


def libero_auc_per_task(R: np.ndarray, c: np.ndarray) -> np.ndarray:
    """AUC_k = (FWT_k + Σ_{τ>k} R[τ, k]) / (K − k + 1), 1-based k."""
    R = _check(R)
    fwt = libero_fwt_per_task(c)
    K = len(R)
    return np.array([(fwt[k] + R[k + 1 :, k].sum()) / (K - k) for k in range(K)])


def _mean_or_zero(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else 0.0


def libero_fwt(R: np.ndarray, c: np.ndarray) -> float:
    return _mean_or_zero(libero_fwt_per_task(c))


def libero_nbt(R: np.ndarray, c: np.ndarray) -> float:
    return _mean_or_zero(libero_nbt_per_task(R))


def libero_auc(R: np.ndarray, c: np.ndarray) -> float:
    return _mean_or_zero(libero_auc_per_task(R, c))


def gem_acc(R: np.ndarray) -> float:
    """ACC = mean_j R[K, j]."""
    return float(_check(R)[-1].mean())


def gem_bwt(R: np.ndarray) -> float:
    """BWT = mean_{j<K} (R[K, j] − R[j, j])."""
    R = _check(R)
    K = len(R)
    return _mean_or_zero(np.array([R[-1, j] - R[j, j] for j in range(K - 1)]))


def gem_fwt(R: np.ndarray, b: np.ndarray) -> float:
    """FWT = mean_{j>1} (R[j−1, j] − b_j)."""
    R = _check(R)
    b = np.asarray(b, dtype=float)
    if b.shape != (len(R),):
        raise ValueError(f"b must have one entry per task ({len(R)}), got shape {b.shape}")
    return _mean_or_zero(np.array([R[j - 1, j] - b[j] for j in range(1, len(R))]))


def forgetting_per_task(R: np.ndarray) -> np.ndarray:
    """F_j = max_{i<K} R[i, j] − R[K, j], for j < K."""
    R = _check(R)
    return np.array([R[:-1, j].max() - R[-1, j] for j in range(len(R) - 1)])


def forgetting(R: np.ndarray) -> float:
    return _mean_or_zero(forgetting_per_task(R))


def cw_forward_transfer_per_task(c: np.ndarray, c_ref: np.ndarray) -> np.ndarray:
    """Continual World: FT_k = (AUC_k − AUC_k^ref) / (1 − AUC_k^ref), AUC the mean of the learning curve."""
    auc, auc_ref = np.asarray(c, dtype=float).mean(axis=1), np.asarray(c_ref, dtype=float).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(auc_ref < 1.0, (auc - auc_ref) / (1.0 - auc_ref), 0.0)


def cw_forward_transfer(c: np.ndarray, c_ref: np.ndarray) -> float:
    return _mean_or_zero(cw_forward_transfer_per_task(c, c_ref))


@dataclass(frozen=True)
class Summary:
    """A metric over runs: its mean, spread, and a bootstrap confidence interval over the runs."""

    mean: float
    std: float
    ci_low: float
    ci_high: float
    n: int


def summarize(
    values: list[float] | np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Summary:
    """Mean, standard deviation and percentile-bootstrap CI of per-run values (one per ordering × seed)."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError("no values to summarise")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return Summary(
        float(values.mean()),
        float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        float(low),
        float(high),
        int(len(values)),
    )


def summarize_runs(per_run: list[dict[str, float]], **bootstrap) -> dict[str, Summary]:
    """Each metric finite in every run (one dict per ordering × seed), summarised over the runs in the order given.

    The one place reports and submissions turn per-run metrics into claims, so both give the same numbers.
    """
    names = [name for name in per_run[0] if all(math.isfinite(run[name]) for run in per_run)]
    return {name: summarize([run[name] for run in per_run], **bootstrap) for name in names}


CONFIDENCE_Z = 1.959963984540054  # two-sided 95 %


def wilson_interval(rate: float, trials: int, z: float = CONFIDENCE_Z) -> tuple[float, float]:
    """The Wilson score interval of a success rate measured over ``trials`` episodes."""
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


# One registry of run-level metrics: name -> function of (R, c, b, c_ref) for one (ordering, seed) run.
METRICS: Registry[Callable[..., float]] = Registry(
    "metric",
    "lifebot.metrics",
    {
        "libero_fwt": lambda R, c, b, c_ref: libero_fwt(R, c),
        "libero_nbt": lambda R, c, b, c_ref: libero_nbt(R, c),
        "libero_auc": lambda R, c, b, c_ref: libero_auc(R, c),
        "gem_acc": lambda R, c, b, c_ref: gem_acc(R),
        "gem_bwt": lambda R, c, b, c_ref: gem_bwt(R),
        "gem_fwt": lambda R, c, b, c_ref: gem_fwt(R, b) if b is not None else float("nan"),
        "forgetting": lambda R, c, b, c_ref: forgetting(R),
        "cw_ft": lambda R, c, b, c_ref: cw_forward_transfer(c, c_ref) if c_ref is not None else float("nan"),
    },
)
METRICS.load_plugins()  # metrics of other packages (entry-point group lifebot.metrics)

# The metrics a submission of each metric-set version claims. A set never changes once published: a new metric
# joins a new set, so a submission keeps validating against the set it was made with.
METRIC_SETS: dict[int, tuple[str, ...]] = {
    1: ("libero_fwt", "libero_nbt", "libero_auc", "gem_acc", "gem_bwt", "gem_fwt", "forgetting", "cw_ft"),
}
METRIC_SET = max(METRIC_SETS)
"""The set new submissions are made with."""


def run_metrics(
    R: np.ndarray,
    c: np.ndarray,
    b: np.ndarray | None = None,
    c_ref: np.ndarray | None = None,
    names: tuple[str, ...] | None = None,
) -> dict[str, float]:
    """The metrics ``names`` (default: every registered one) for one run (NaN where a baseline was not measured)."""
    return {name: METRICS[name](R, c, b, c_ref) for name in (names or tuple(METRICS))}
