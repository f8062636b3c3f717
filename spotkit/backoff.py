"""Cooperative back-off: when Spotify says "wait" to one spotkit process, every process of the app waits.

Spotify rate-limits an app (a client id) over a rolling window, whichever process sends the calls.
When any spotkit process gets a 429 with ``Retry-After`` (from the Web API or from the accounts
service's token endpoint), it records "blocked until T" in a small
private file next to the token cache, ``<cache folder>/backoff-<client id>.json``::

    {"blocked_until": 1796139000.5}

Before each request every spotkit process of that app (a widget, a history recorder, a notebook,
the CLI) reads it: while blocked, it waits (when the wait is at most ``max_retry_wait`` and
within the request's deadline) or raises :class:`~spotkit.errors.RateLimited` with
``retry_after`` set, instead of adding calls to a window Spotify already closed.

The file is written atomically (a private temporary file moved over it) and only ever moves the
block later. Reading it costs one ``stat`` per request when it has not changed. A file that
cannot be written (read-only folder) leaves the block in this process's memory only; a damaged
one reads as "not blocked".
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import RateLimited
from .logs import logger

if TYPE_CHECKING:
    from .config import Settings

__all__ = ["MAX_BLOCK", "SharedBackoff"]

#: The longest block recorded or obeyed (seconds): a huge or hostile Retry-After, or a file from a
#: clock far ahead, never silences the app for longer than a day.
MAX_BLOCK = 24 * 3600.0

# the back-off's wall clock, looked up at each call: where the tests' fake sleeps move time on
_wall_clock: Callable[[], float] = time.time


class SharedBackoff:
    """"Blocked until T" for one app, shared by every spotkit process through the file at `path`.

    `clock` gives wall-clock Unix seconds (default: :func:`time.time`; tests pass a fake one).
    """

    def __init__(self, path: str | os.PathLike[str], *,
                 clock: Callable[[], float] | None = None) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read
        self._file_until = 0.0
        self._local_until = 0.0

    @classmethod
    def for_app(cls, settings: Settings) -> SharedBackoff | None:
        """The back-off of `settings`' app, beside its token cache (None without a client id)."""
        client_id = settings.client_id
        if not client_id:
            return None
        safe = "".join(c for c in client_id if c.isalnum() or c in "-_")[:64] or "app"
        return cls(Path(settings.cache_path).expanduser().parent / f"backoff-{safe}.json")

    def __repr__(self) -> str:
        return f"SharedBackoff({str(self.path)!r}, remaining={self.remaining():.1f})"

    def blocked_until(self) -> float:
        """Unix seconds until which the app must not call Spotify (0.0 when it may)."""
        return max(self._local_until, self._read())

    def remaining(self) -> float:
        """Seconds left of the block (0.0 when not blocked; at most :data:`MAX_BLOCK`)."""
        return min(MAX_BLOCK, max(0.0, self.blocked_until() - self._time()))

    def block(self, seconds: float) -> None:
        """Record that Spotify asked the app to wait `seconds` (never moves a block earlier)."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        until = self._time() + min(seconds, MAX_BLOCK)
        with self._lock:
            if until <= max(self._local_until, self._read()):
                return
            self._local_until = until
            try:
                self._write(until)
            except OSError as exc:
                logger.warning("could not record the rate-limit back-off in %s (%s); other "
                               "spotkit processes will not know of it", self.path,
                               exc.strerror or type(exc).__name__)

    def wait_or_raise(self, max_wait: float, *, deadline: float | None = None,
                      sleep: Callable[[float], object] = time.sleep, what: str = "the call") -> None:
        """Return at once when not blocked; wait when the block ends within `max_wait` (and the
        `deadline`, seconds left); else raise :class:`RateLimited` with `retry_after` set."""
        left = self.remaining()
        if left <= 0:
            return
        if left <= max_wait and (deadline is None or left < deadline):
            logger.debug("%s: the app is rate limited for %.1f s more; waiting", what, left)
            sleep(left)
            return
        raise RateLimited(429, "Spotify asked this app to slow down (recorded by a spotkit "
                          f"process in {self.path.name}), so {what} was not sent",
                          retry_after=left)

    def _time(self) -> float:
        return self._clock() if self._clock is not None else _wall_clock()

    # --- the file ---------------------------------------------------------------------------

    def _read(self) -> float:
        try:
            st = os.stat(self.path)
        except OSError:
            self._seen = None
            self._file_until = 0.0
            return 0.0
        key = (st.st_mtime_ns, st.st_size)
        if key != self._seen:
            self._seen = key
            self._file_until = _parse(self.path)
        return self._file_until

    def _write(self, until: float) -> None:
        parent = self.path.parent
        if not parent.is_dir():
            parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = parent / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"blocked_until": until}, fh)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _parse(path: Path) -> float:
    """The `blocked_until` of the file; 0.0 for anything unreadable or malformed."""
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(4096))
    except (OSError, ValueError):
        return 0.0
    until = data.get("blocked_until") if isinstance(data, dict) else None
    if isinstance(until, bool) or not isinstance(until, (int, float)) or not math.isfinite(until):
        return 0.0
    return float(until)
