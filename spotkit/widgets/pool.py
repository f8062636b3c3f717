"""One poller per kernel for all the now-playing widgets that show the same thing.

Widgets with the same client (or all those using the default client) and the same timing share a
:class:`~spotkit.widgets.poller.NowPlayingPoller`: two cards of the same player cost the calls of
one. Each widget joins the shared poller as an owner; when the last one leaves, the poller is
closed (its thread stopped, the client it made closed) and forgotten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from .poller import NowPlayingPoller

__all__ = ["acquire", "release", "shared"]

_pollers: dict[Hashable, NowPlayingPoller] = {}
_lock = threading.Lock()


def acquire(key: Hashable, owner: str, make: Callable[[], NowPlayingPoller], *,
            always: bool = False, background: float | None = None) -> NowPlayingPoller:
    """The poller shared under `key` (made by `make()` the first time), joined by `owner`."""
    with _lock:
        poller = _pollers.get(key)
        if poller is None:
            poller = _pollers[key] = make()
        poller.join(owner, always=always, background=background)
        return poller


def release(key: Hashable, owner: str, timeout: float | None = 1.0) -> None:
    """`owner` leaves the poller shared under `key`; the last one to leave closes it."""
    with _lock:
        poller = _pollers.get(key)
        if poller is None or poller.leave(owner) > 0:
            return
        del _pollers[key]
    poller.close(timeout=timeout)


def shared() -> int:
    """How many shared pollers exist (for tests)."""
    with _lock:
        return len(_pollers)
