"""Lifelong metrics against matrices computed by hand, and the edge conventions."""

from __future__ import annotations

import numpy as np
import pytest

from lifebot.lifelong import metrics as m

R = np.array([[0.8, 0.1, 0.0], [0.5, 0.9, 0.2], [0.4, 0.6, 0.7]])
C = np.array([[0.2, 0.8, 0.6], [0.0, 0.5, 1.0], [0.7, 0.3, 0.1]])
B = np.array([0.0, 0.05, 0.1])
C_REF = np.array([[0.1, 0.4, 0.7], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])


def test_libero_metrics_by_hand():
    # held-at-best curves: [.2 .8 .8], [0 .5 1], [.7 .7 .7]
    np.testing.assert_allclose(m.libero_fwt_per_task(C), [0.6, 0.5, 0.7])
    assert m.libero_fwt(R, C) == pytest.approx(0.6)
    np.testing.assert_allclose(m.libero_nbt_per_task(R), [0.35, 0.3])
    assert m.libero_nbt(R, C) == pytest.approx(0.325)
    np.testing.assert_allclose(m.libero_auc_per_task(R, C), [0.5, 0.55, 0.7])
    assert m.libero_auc(R, C) == pytest.approx((0.5 + 0.55 + 0.7) / 3)


def test_gem_metrics_and_forgetting_by_hand():
    assert m.gem_acc(R) == pytest.approx(1.7 / 3)
    assert m.gem_bwt(R) == pytest.approx(-0.35)
    assert m.gem_fwt(R, B) == pytest.approx(0.075)
    np.testing.assert_allclose(m.forgetting_per_task(R), [0.4, 0.3])
    assert m.forgetting(R) == pytest.approx(0.35)


def test_continual_world_forward_transfer_by_hand():
    np.testing.assert_allclose(m.cw_forward_transfer_per_task(C, C_REF), [(1.6 / 3 - 0.4) / 0.6, 0.5, 0.0])
    assert m.cw_forward_transfer(C, C_REF) == pytest.approx(((1.6 / 3 - 0.4) / 0.6 + 0.5) / 3)


def test_single_task_conventions():
    R1, c1 = np.array([[0.7]]), np.array([[0.5, 0.7]])
    values = m.run_metrics(R1, c1, b=np.array([0.1]), c_ref=np.array([[0.5, 0.7]]))
    assert values == pytest.approx(
        {
            "libero_fwt": 0.6,
            "libero_nbt": 0.0,
            "libero_auc": 0.6,
            "gem_acc": 0.7,
            "gem_bwt": 0.0,
            "gem_fwt": 0.0,
            "forgetting": 0.0,
            "cw_ft": 0.0,
        }
    )


def test_missing_baselines_are_nan_not_invented():
    values = m.run_metrics(R, C)
    assert np.isnan(values["gem_fwt"]) and np.isnan(values["cw_ft"])


def test_held_at_best_keeps_the_first_best():
    np.testing.assert_array_equal(m.held_at_best([0.1, 0.9, 0.3, 0.9, 0.2]), [0.1, 0.9, 0.9, 0.9, 0.9])


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.array([[1.2]]), np.array([[np.nan]])])
def test_malformed_matrices_are_rejected(bad):
    with pytest.raises(ValueError):
        m.gem_acc(bad)


def test_summary_spread_and_bootstrap_interval():
    summary = m.summarize([0.2, 0.4, 0.6, 0.8])
    assert summary.mean == pytest.approx(0.5) and summary.n == 4
    assert summary.std == pytest.approx(np.std([0.2, 0.4, 0.6, 0.8], ddof=1))
    assert 0.2 <= summary.ci_low < 0.5 < summary.ci_high <= 0.8
    assert m.summarize([0.3]) == m.Summary(0.3, 0.0, 0.3, 0.3, 1)
    assert m.summarize([0.2, 0.4, 0.6, 0.8], seed=1) == m.summarize([0.2, 0.4, 0.6, 0.8], seed=1)  # reproducible
