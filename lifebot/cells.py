"""Measurement cells that survive a kill: a benchmark's results file, named by the hash of its settings.

A long benchmark (hours on a CPU) writes each measured cell as soon as it has it; started again with the same
settings it reads the file and measures only the missing cells, and with other settings it writes another file.
Processes that measure other cells of the same settings (other methods, other seeds) may share the file: each
write merges into what is on disk under a lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path

from lifebot.atomic import atomic_write_json
from lifebot.jsonio import loads_strict


def settings_key(document: dict) -> str:
    """A short hash of a JSON-able settings document (key order does not matter)."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:12]


class CellFile:
    """``folder/results_<key>.json``: cell name -> JSON value, rewritten atomically on every new cell."""

    def __init__(self, folder: Path, settings: dict):
        self.settings, self.key = settings, settings_key(settings)
        self.path = Path(folder) / f"results_{self.key}.json"
        self.cells: dict = self._on_disk()

    def __contains__(self, name: str) -> bool:
        return name in self.cells

    def __getitem__(self, name: str):
        return self.cells[name]

    def __setitem__(self, name: str, value) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{self.path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            cells = {**self.cells, **self._on_disk(), name: value}  # what others wrote since wins over our copy
            atomic_write_json(self.path, {"settings_key": self.key, "settings": self.settings, "cells": cells})
        self.cells = cells  # only once it is on disk

    def _on_disk(self) -> dict:
        return loads_strict(self.path.read_text())["cells"] if self.path.exists() else {}
