"""Versions recorded with every suite file, dataset and result."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _installed(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """lifebot, MuJoCo and robosuite versions (deterministic: safe to write into reproducible files)."""
    return {"lifebot": _installed("lifebot"), "mujoco": _installed("mujoco"), "robosuite": _installed("robosuite")}
