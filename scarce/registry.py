"""A tiny name → factory registry, used for everything a config names (datasets, models, remedies).

Factories may be registered lazily as ``"module:attribute"`` strings so that listing names never
imports a heavy optional backend.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from scarce._checks import did_you_mean, unknown_name


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
        self._meta: dict[str, dict[str, Any]] = {}

    def register(self, name: str, factory: Callable[..., Any] | str | None = None, *, help: str = "", **meta: Any):
        """Register ``factory`` (a callable or a lazy ``"module:attr"`` path) under ``name``.

        ``meta`` holds what an entry declares without being imported (e.g. ``modality="text"``).
        Used without ``factory`` it returns a decorator.
        """

        def add(obj):
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is already registered.")
            self._entries[name] = obj
            doc = help or (obj.__doc__ or "").strip().splitlines()[0:1]
            self._help[name] = doc if isinstance(doc, str) else (doc[0] if doc else "")
            self._meta[name] = dict(meta)
            return obj

        return add(factory) if factory is not None else add

    def names(self, **where: Any) -> list[str]:
        """Registered names, sorted; ``where`` keeps those whose metadata match (``modality="audio"``)."""
        return sorted(n for n in self._entries if all(self._meta[n].get(k) == v for k, v in where.items()))

    def meta(self, name: str) -> dict[str, Any]:
        """What ``name`` declared at registration (a copy; nothing is imported)."""
        if name not in self._entries:
            raise unknown_name(self.kind, name, self._entries)
        return dict(self._meta[name])

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for plug-ins registered by tests or examples); unknown names raise."""
        if name not in self._entries:
            raise unknown_name(self.kind, name, self._entries)
        for table in (self._entries, self._help, self._meta):
            table.pop(name, None)

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
        """Call the factory for ``name`` with keyword arguments; bad keywords name the parameter (an
        unknown one with a "did you mean" and the options the factory takes)."""
        return call_factory(self.kind, name, self.get(name), kwargs)


def call_factory(kind: str, name: str, factory: Callable[..., Any], options: dict[str, Any]) -> Any:
    """``factory(**options)``; a bad or missing keyword raises ``ValueError`` naming ``kind`` ``name``
    (an unknown one with a "did you mean" and the options the factory takes)."""
    try:
        return factory(**options)
    except TypeError as err:
        if "unexpected keyword argument" in str(err) or "missing" in str(err):
            raise ValueError(f"Bad options for {kind} '{name}': {_unknown_option(factory, options) or err}") from None
        raise


def _unknown_option(factory: Callable[..., Any], given: dict) -> str:
    """"unknown option `x`. Did you mean ...? It takes: ..." for the first keyword ``factory``'s
    signature does not take ("" when it takes them all or its signature cannot tell)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return ""
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return ""
    known = sorted(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    unknown = [k for k in given if k not in known]
    if not unknown:
        return ""
    return f"unknown option `{unknown[0]}`.{did_you_mean(unknown[0], known)} It takes: {', '.join(known) or 'none'}."
