"""Typed configs: one error type that names the field (so the command line can name the flag), field docs."""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import cache


class ConfigError(ValueError):
    """A config field holds a value it cannot take: ``source`` is the config class or the file it was read from,
    ``field`` the dataclass field's name (or ``<file>`` for the file as a whole)."""

    def __init__(self, source: str, field: str, problem: str):
        super().__init__(f"{source}: {field}: {problem}")
        self.source, self.field, self.problem = source, field, problem


def require(config, checks: dict[str, tuple[bool, str]]) -> None:
    """Raise a :class:`ConfigError` for the first field whose check fails; ``checks`` maps field -> (ok, expected)."""
    for field, (ok, expected) in checks.items():
        if not ok:
            owner = type(config).__name__
            raise ConfigError(owner, field, f"must be {expected}, got {getattr(config, field)!r}")


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (its own and its bases'), read from the source."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body
        for statement, following in zip(body, body[1:], strict=False):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[statement.target.id] = " ".join(following.value.value.split())
    return docs
