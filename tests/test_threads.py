"""Thread shares: each training or evaluating process takes its part of the cores; LIFEBOT_THREADS overrides."""

from __future__ import annotations

import os

import pytest
import torch
from threadpoolctl import threadpool_info

from lifebot.threads import THREADS_VARIABLE, set_threads, thread_share


def test_the_cores_are_divided_among_the_processes(monkeypatch):
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert thread_share(1) == 8 and thread_share(3) == 2 and thread_share(16) == 1


def test_the_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert thread_share(8) == 3
    monkeypatch.setenv(THREADS_VARIABLE, "zero")
    with pytest.raises(ValueError, match=THREADS_VARIABLE):
        thread_share()


def test_set_threads_sets_torch_and_blas(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv(THREADS_VARIABLE, "1")
    try:
        assert set_threads() == 1
        assert torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    finally:
        torch.set_num_threads(before)
