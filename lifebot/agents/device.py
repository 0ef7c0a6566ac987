"""Choosing the torch device: CUDA when present, unless the user says otherwise."""

from __future__ import annotations

import torch


def resolve_device(requested: str = "auto") -> torch.device:
    """``auto`` picks ``cuda`` when a GPU is visible, else ``cpu``; anything else is passed to torch as is."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {requested!r} requested but torch sees no CUDA device")
    return device
