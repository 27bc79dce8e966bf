"""A tiny name → factory registry, used for everything a config names (datasets, models, remedies).

Factories may be registered lazily as ``"module:attribute"`` strings so that listing names never
imports a heavy optional backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from scarce._checks import unknown_name


class Registry:
    """Map names to factories; unknown names raise ``ValueError`` with a "did you mean".

    Example:
        >>> reg = Registry("model")
        >>> @reg.register("tiny", help="a tiny model")
        ... def tiny(**kw):
        ...     return "tiny"
        >>> reg.create("tiny")
        'tiny'
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., Any] | str] = {}
        self._help: dict[str, str] = {}

    def register(self, name: str, factory: Callable[..., Any] | str | None = None, *, help: str = ""):
        """Register ``factory`` (a callable or a lazy ``"module:attr"`` path) under ``name``.

        Used without ``factory`` it returns a decorator.
        """

        def add(obj):
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is already registered.")
            self._entries[name] = obj
            doc = help or (obj.__doc__ or "").strip().splitlines()[0:1]
            self._help[name] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            return obj

        return add(factory) if factory is not None else add

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)

    def help(self, name: str) -> str:
        """The one-line description of ``name``."""
        self.get(name)
        return self._help[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> Callable[..., Any]:
        """The factory for ``name``, importing it first if it was registered lazily."""
        if name not in self._entries:
            raise unknown_name(self.kind, name, self._entries)
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry

    def create(self, name: str, **kwargs: Any) -> Any:
        """Call the factory for ``name`` with keyword arguments; bad keywords name the parameter."""
        factory = self.get(name)
        try:
            return factory(**kwargs)
        except TypeError as err:
            if "unexpected keyword argument" in str(err) or "missing" in str(err):
                raise ValueError(f"Bad options for {self.kind} '{name}': {err}") from None
            raise
