"""Typed agent configurations, read from ``policies/<agent>.yaml``.

Each agent has a frozen dataclass config whose field docstrings are its documentation; reading a file checks
every field's name and type and reports problems as one error naming the file and the field.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from lifebot.configs import ConfigError


def _coerce(value: Any, kind: Any, source: str, field: str) -> Any:
    origin = typing.get_origin(kind)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(source, field, f"expected a list, got {value!r}")
        (item,) = {a for a in typing.get_args(kind) if a is not Ellipsis}
        return tuple(_coerce(v, item, source, f"{field}[{i}]") for i, v in enumerate(value))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (int, float, str, bool) and (type(value) is not kind):
        raise ConfigError(source, field, f"expected {kind.__name__}, got {value!r}")
    return value


def config_from_dict(cls: type, data: Any, source: str = "<config>"):
    """Build a config dataclass from plain data, rejecting unknown fields and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(source, "<file>", f"expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(source, unknown[0], f"unknown field (known: {', '.join(sorted(names))})")
    return cls(**{k: _coerce(v, hints[k], source, k) for k, v in data.items()})


def parse_options(options: Sequence[str], flag: str) -> dict[str, Any]:
    """``key=value`` strings as config fields, each value read as a YAML scalar (``ewc_lambda=300`` is a number,
    ``x=abc`` a string); a malformed one is refused naming ``flag``."""
    fields: dict[str, Any] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key:
            raise ConfigError(flag, option, "expected key=value")
        fields[key.strip()] = yaml.safe_load(value)
    return fields


def load_config(cls: type, path: str | Path):
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(str(path), "<file>", f"cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "<file>", f"is not valid YAML: {exc}") from None
    return config_from_dict(cls, data or {}, source=str(path))
