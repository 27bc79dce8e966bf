"""A bounded least-recently-used lookup for process-wide caches (floor 0: imports nothing of ours).

The caches stay plain ``OrderedDict`` objects owned by their modules (so each module can document
and clear its own); :func:`lru_get` is the one way they are read and bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


def lru_get(store: OrderedDict, key: Hashable, make: Callable[[], Any], *, bound: int) -> Any:
    """``store[key]``, built with ``make()`` when missing; ``store`` keeps at most ``bound`` entries,
    the least recently used dropped first.

    Example:
        >>> store = OrderedDict()
        >>> [lru_get(store, k, lambda: k * 10, bound=2) for k in (1, 2, 1, 3)]
        [10, 20, 10, 30]
        >>> list(store)
        [1, 3]
    """
    if key in store:
        store.move_to_end(key)
    else:
        store[key] = make()
        while len(store) > bound:
            store.popitem(last=False)
    return store[key]
