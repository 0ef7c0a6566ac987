"""Writing files so that a reader (or a killed run) never sees a half-written one, and a full disk says so."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lifebot.jsonio import dumps_strict


class DiskFull(OSError):
    """A write that ran out of space; the message names the file (the partial file is already removed)."""

    def __str__(self) -> str:
        return self.strerror  # it names the file and the cause: "[Errno 28]" before it would say nothing more


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it into place, on failure remove it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        try:
            yield tmp
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    except OSError as exc:
        if exc.errno == errno.ENOSPC or "No space left" in str(exc):
            raise DiskFull(errno.ENOSPC, f"{path}: no space left on device; nothing was written") from None
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_json(path: Path, document) -> None:
    """Strict JSON (:func:`lifebot.jsonio.dumps_strict`), written atomically."""
    atomic_write_bytes(path, dumps_strict(document, path))
