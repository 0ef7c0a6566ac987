"""The one way lifebot files things by name (solvers and shapings per predicate, and the like)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def registers(registry: dict[str, T], *names: str) -> Callable[[T], T]:
    """Decorator filing the decorated object in ``registry`` under each of ``names``; a name is filed once."""

    def wrap(item: T) -> T:
        for name in names:
            if name in registry:
                raise ValueError(f"{name!r} is registered twice")
            registry[name] = item
        return item

    return wrap
