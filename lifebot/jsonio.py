"""Strict JSON both ways: files that lifebot trusts hold no NaN, no infinity and no repeated key."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        repeated = sorted(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
        raise ValueError(f"key {_clip(repr(repeated[0]))} appears twice in one object")
    return document


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{_clip(repr(text))} is too large for a number")
    return value


def loads_strict(text: str):
    """``json.loads`` that refuses NaN, Infinity, numbers that overflow to infinity and repeated keys (ValueError)."""
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite)


def _first_non_finite(value, where: str = "") -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return where or "(top level)"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        found = _first_non_finite(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def dumps_strict(document, path: Path | str = "JSON") -> bytes:
    """Sorted keys, one-space indent; a NaN or inf is refused (ValueError naming the file and the field)."""
    try:
        return (json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n").encode()
    except ValueError:
        where = _first_non_finite(document)
        raise ValueError(
            f"{path}: refusing to write the non-finite number at {where} (JSON has no NaN or inf)"
        ) from None
