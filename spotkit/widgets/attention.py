"""Is anybody looking? The now-playing widgets' attention, as pure bookkeeping over time.

No threads, no ipywidgets: every method takes the current time from the caller, so the rules are
unit-tested with a fake clock (the poller holds the lock).

Each *owner* (a :class:`~spotkit.widgets.now_playing.NowPlayingWidget`) has views in browsers.
A view reports whether it is watched (its element on screen in a visible tab) when that changes
and again every few seconds while it is watched; each report holds for `lease` seconds. A view
that stops reporting (the laptop went to sleep, the page was closed, the connection dropped)
so counts as not watched once its lease runs out. An owner can also count as watched forever
(`always=True`: code that reads `.current` in a kernel without a front end, which asked for it).

Nobody watching, the poller makes no call at all, unless an owner asked for background updates:
then at most one every `background` seconds (the smallest any owner asked for).
"""

from __future__ import annotations

import math

__all__ = ["DEFAULT_LEASE", "Attention"]

#: Seconds a "watched" report from a view holds. The front end renews it every third of that.
DEFAULT_LEASE = 30.0


class Attention:
    """Who is watching, per owner and view; not thread-safe (its user holds a lock)."""

    def __init__(self, lease: float = DEFAULT_LEASE) -> None:
        if not (math.isfinite(lease) and lease > 0):
            raise ValueError(f"lease must be a positive number of seconds, not {lease!r}")
        self.lease = lease
        self._until: dict[tuple[str, str], float] = {}  # (owner, view) -> lease end, watched only
        self._always: set[str] = set()
        self._background: dict[str, float] = {}

    def join(self, owner: str, *, always: bool = False, background: float | None = None) -> None:
        """Register `owner`: `always` counts it as watched; `background`: seconds between
        calls it accepts while nobody watches (None: no call)."""
        if always:
            self._always.add(owner)
        else:
            self._always.discard(owner)
        if background is None:
            self._background.pop(owner, None)
        else:
            self._background[owner] = background

    def leave(self, owner: str) -> None:
        """Forget `owner` and all its views."""
        self._always.discard(owner)
        self._background.pop(owner, None)
        for key in [k for k in self._until if k[0] == owner]:
            del self._until[key]

    def report(self, owner: str, view: str, watched: bool, now: float) -> None:
        """A view of `owner` says whether it is watched (on screen, in a visible tab)."""
        if watched:
            self._until[(owner, view)] = now + self.lease
        else:
            self._until.pop((owner, view), None)

    def watched(self, now: float) -> bool:
        """True when some owner always counts, or some view's report still holds."""
        for key in [k for k, until in self._until.items() if until <= now]:
            del self._until[key]
        return bool(self._always) or bool(self._until)

    def background(self) -> float | None:
        """The shortest background interval any owner asked for, or None."""
        return min(self._background.values(), default=None)

    def next_change(self, now: float) -> float | None:
        """When `watched()` may turn False by itself (the earliest lease end after `now`)."""
        ends = [until for until in self._until.values() if until > now]
        return min(ends) if ends else None
