"""The one way lifebot files things by name: agents, strategies, families, metrics, predicates and the like.

A :class:`Registry` is a dict that refuses a name filed twice (a typo must not silently replace a benchmark's
part) and whose lookup error lists the known names. Registries open to other packages name an entry-point
group: a package declaring, in its ``pyproject.toml``::

    [project.entry-points."lifebot.strategies"]
    toy = "my_package.strategies:ToyStrategy"

has ``ToyStrategy`` filed under ``toy`` when lifebot's registry loads its plugins (the object may also file
itself on import, with the registry's decorator). See ``docs/extending.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TypeVar

T = TypeVar("T")


class Registry(dict[str, T]):
    """Things of one ``kind`` by name; ``plugins`` is the entry-point group external packages add to."""

    def __init__(self, kind: str, plugins: str | None = None, items: dict[str, T] | None = None):
        super().__init__()
        self.kind, self.plugins = kind, plugins
        for name, item in (items or {}).items():
            self.add(name, item)

    def add(self, name: str, item: T) -> T:
        if name in self:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self[name] = item
        return item

    def register(self, *names: str) -> Callable[[T], T]:
        """Decorator filing the decorated object under each of ``names``."""

        def wrap(item: T) -> T:
            for name in names:
                self.add(name, item)
            return item

        return wrap

    def __missing__(self, name: str) -> T:
        raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self) or 'none'}")

    def load_plugins(self) -> list[str]:
        """File what installed packages declare in this registry's entry-point group; returns the names added.

        A plugin that fails to import is left out with a warning naming it, so one broken package cannot make
        lifebot unusable.
        """
        added = []
        for point in entry_points(group=self.plugins) if self.plugins else ():
            if point.name in self:
                continue
            try:
                item = point.load()
            except Exception as exc:  # any import-time failure of a third-party package
                warnings.warn(
                    f"lifebot: {self.kind} plugin {point.name!r} ({point.value}) not loaded: {exc}", stacklevel=2
                )
                continue
            if point.name not in self:  # it may have filed itself on import
                self.add(point.name, item)
            added.append(point.name)
        return added


def registers(registry: Registry[T], *names: str) -> Callable[[T], T]:
    """Decorator filing the decorated object in ``registry`` under each of ``names``."""
    return registry.register(*names)
