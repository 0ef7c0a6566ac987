"""Command-line options derived from the typed config dataclasses (CleanRL's ``tyro`` habit, on argparse).

Each field becomes ``--field-name``; its docstring (the string literal under it) is the help and its default is
shown there, so a default lives in the dataclass only. A config's own checks raise
:class:`lifebot.configs.ConfigError`, which :func:`make_config` reports as an argument error naming the flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path

from lifebot.configs import ConfigError, field_docs


class Parser(argparse.ArgumentParser):
    """No silent abbreviations: ``--task`` is not taken for ``--tasks``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def integers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def positive(text: str) -> int:
    """A count that must be at least 1 (processes, pixels)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def existing_path(text: str) -> Path:
    """An input file or folder: refused at parse time when it is not there."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file or folder: {text}")
    return path


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _show(value) -> str:
    if isinstance(value, tuple):
        value = ",".join(map(str, value)) if all(isinstance(v, int) for v in value) else " ".join(value)
    return "none" if value is None or value == "" else str(value)


def _argument(hint, default) -> dict:
    """argparse keywords for one type hint."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return _argument(inner, default)
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin is tuple and args[0] is int:
        return {"type": integers, "metavar": "N,N,..."}
    if origin is tuple:
        return {"nargs": "*", "metavar": "NAME"}
    if origin is typing.Literal:
        return {"choices": list(args)}
    if hint in (int, float, str, Path):
        return {"type": hint, "metavar": {int: "N", float: "X", str: "TEXT", Path: "PATH"}[hint]}
    raise TypeError(f"no command-line form for a field of type {hint!r}")


def _input(kind: type):
    def parse(text: str):
        return kind(existing_path(text)) if text else text

    return parse


def add_config(
    parser: argparse.ArgumentParser,
    cls: type,
    *,
    skip: tuple[str, ...] = (),
    choices: dict[str, tuple[str, ...]] | None = None,
    inputs: tuple[str, ...] = (),
    help: dict[str, str] | None = None,
    aliases: dict[str, str] | None = None,
) -> None:
    """Add one option per field of ``cls`` (except ``skip``); a field without a default is required.

    ``choices`` restricts a field to known names, ``inputs`` names path fields that must exist (an empty value
    keeps meaning "the default"), ``help`` overrides a field's docstring for this command, ``aliases`` gives a
    field a second, shorter flag.
    """
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    for spec in dataclasses.fields(cls):
        if spec.name in skip or not spec.init:
            continue
        keywords = _argument(hints[spec.name], spec.default)
        if spec.name in (choices or {}):
            keywords = {"choices": list(choices[spec.name])}
        if spec.name in inputs:
            keywords["type"] = _input(keywords.get("type", str))
        text = (help or {}).get(spec.name) or docs.get(spec.name)
        if not text:
            raise TypeError(f"{cls.__name__}.{spec.name} has no docstring to serve as its --help")
        if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            keywords["required"] = True
        else:
            default = spec.default if spec.default is not dataclasses.MISSING else spec.default_factory()
            keywords["default"] = default
            if "default" not in text:  # a docstring that says what its default means is clearer as it is
                text += f" (default: {_show(default)})"
        flags = [flag(spec.name), *([aliases[spec.name]] if spec.name in (aliases or {}) else [])]
        parser.add_argument(*flags, dest=spec.name, help=text.replace("%", "%%"), **keywords)


def make_config(parser: argparse.ArgumentParser, cls: type, args: argparse.Namespace, **values):
    """``cls`` from the parsed options (``values`` override them); a failed check is an error naming its flag."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    fields = {name: getattr(args, name) for name in names if hasattr(args, name)}
    fields.update(values)
    for name, value in fields.items():
        if isinstance(value, list):
            fields[name] = tuple(value)
    try:
        return cls(**fields)
    except ConfigError as exc:
        if exc.source != cls.__name__:
            raise  # a file or option the config read (a strategy's settings), not one of its own flags
        parser.error(f"argument {flag(exc.field)}: {exc.problem}")
