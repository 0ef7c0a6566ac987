"""Agent checkpoints: tensors and plain data only, loaded with ``torch.load(weights_only=True)``.

A checkpoint from someone else cannot execute code when loaded: no pickled classes, only a dict of tensors,
numbers, strings and lists. It records the agent's name, its config, the control mode it was trained in and
the lifebot / MuJoCo / robosuite versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lifebot.atomic import atomic_output
from lifebot.versions import versions

CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path}: {problem}")


def save_checkpoint(path: str | Path, agent: str, payload: dict[str, Any]) -> Path:
    path = Path(path)
    document = {"checkpoint_version": CHECKPOINT_VERSION, "agent": agent, "versions": versions(), **payload}
    with atomic_output(path) as tmp:
        torch.save(document, tmp)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint")
    try:
        document = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        raise CheckpointError(path, f"not a lifebot checkpoint, or damaged ({type(exc).__name__}: {exc})") from None
    if not isinstance(document, dict) or document.get("checkpoint_version") != CHECKPOINT_VERSION:
        raise CheckpointError(path, f"not a lifebot checkpoint (version {CHECKPOINT_VERSION})")
    return document
