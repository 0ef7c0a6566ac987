"""Strict JSON both ways: files that lifebot trusts hold no NaN, no infinity and no repeated key."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_DEPTH_STEP = np.zeros(256, dtype=np.int64)
_DEPTH_STEP[[ord("["), ord("{")]] = 1
_DEPTH_STEP[[ord("]"), ord("}")]] = -1


def nesting_depth(text: str) -> int:
    """How deep JSON arrays and objects nest, brackets inside strings aside (in linear time, without parsing)."""
    brackets = np.frombuffer(_STRING.sub('""', text).encode(), dtype=np.uint8)
    return int(np.cumsum(_DEPTH_STEP[brackets]).max(initial=0))


def read_text(path: Path, max_bytes: int, kind: str) -> str:
    """The UTF-8 text of ``path``, read no further than ``max_bytes``; ValueError saying why it is refused.

    ``kind`` names what the file should be ("a submission"), for the message.
    """
    too_big = f"is larger than {max_bytes / 2**20:g} MiB, the most {kind} may be"
    try:
        if path.stat().st_size > max_bytes:
            raise ValueError(too_big)
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise ValueError(too_big)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"is not UTF-8 text (byte {exc.start})") from None


def check_depth(depth: int, max_depth: int, kind: str) -> None:
    if depth > max_depth:
        raise ValueError(f"nests {depth} levels deep; {kind} nests at most {max_depth}")


def parse_json(text: str, max_depth: int, kind: str):
    """Strict JSON (:func:`loads_strict`) after a nesting check, so the parser never recurses too deep."""
    check_depth(nesting_depth(text), max_depth, kind)
    try:
        return loads_strict(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None


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
