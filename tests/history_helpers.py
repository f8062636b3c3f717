"""Helpers shared by the history tests: a logged-in sandbox environment and a fake client."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from spotkit.auth.cache import TokenCache
from spotkit.auth.token import Token
from spotkit.history.logger import HistoryClient
from spotkit.records import HistoryPage, history_page
from spotkit.sandbox import Sandbox

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)


def log_in(sb: Sandbox, cache_path: Path) -> None:
    """Put a token for the sandbox's user in the cache, as `spotkit login` would."""
    TokenCache(cache_path).save(sb.client_id, sb.user["id"], Token.from_response(sb.issue_token()))


def sandbox_env(sb: Sandbox, tmp_path: Path) -> dict[str, str]:
    """An environment for `spotkit` subprocesses talking to `sb`, logged in."""
    cache = tmp_path / "tokens.json"
    log_in(sb, cache)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPOTIFY_", "SPOTKIT_"))}
    env.update(sb.env, SPOTKIT_CACHE_PATH=str(cache), PYTHONUNBUFFERED="1")
    return env


def play_item(uri: str, played_at: datetime, name: str = "Song", duration_ms: int = 200_000,
              artists: tuple[str, ...] = ("Band",)) -> dict[str, Any]:
    """One recently-played `items[]` entry, shaped like Spotify's."""
    track_id = uri.rsplit(":", 1)[-1]
    return {
        "track": {"type": "track", "id": track_id, "uri": uri, "name": name,
                  "duration_ms": duration_ms, "album": {"name": "Album"},
                  "artists": [{"name": a} for a in artists]},
        "played_at": played_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "context": {"type": "playlist", "uri": "spotify:playlist:p1"},
    }


class FakeClient(HistoryClient):
    """Stands in for `spotkit.Spotify`: a list of plays behind recently-played's rules.

    Only the last `reachable` plays can be read; `after` gives the plays strictly after it, the
    oldest `limit` of them (newest first within the page), like the sandbox. `errors` are raised
    by the next calls, one each; `now_playing_records` are answered in turn.
    """

    def __init__(self, reachable: int = 50) -> None:
        self.plays: list[tuple[datetime, str]] = []
        self.reachable = reachable
        self.calls = 0
        self.afters: list[int | None] = []
        self.errors: list[BaseException] = []
        self.now_playing_records: list[dict[str, Any] | None] = []
        self.on_call: Callable[[], None] | None = None

    def play(self, n: int, start: datetime | None = None, step: timedelta = timedelta(minutes=3),
             prefix: str = "t") -> None:
        t = start or (self.plays[-1][0] + step if self.plays else T0)
        for _ in range(n):
            i = len(self.plays)
            self.plays.append((t, f"spotify:track:{prefix}{i:020d}"))
            t += step

    def _call(self) -> None:
        self.calls += 1
        if self.on_call is not None:
            self.on_call()
        if self.errors:
            raise self.errors.pop(0)

    def recently_played_page(self, after: int | None = None, before: int | None = None,
                             limit: int = 50) -> HistoryPage:
        self.afters.append(after)
        self._call()
        reachable = self.plays[-self.reachable:]
        if after is not None:
            chosen = [p for p in reachable if ms(p[0]) > after][:limit]
        else:
            chosen = reachable[-limit:]
        items = [play_item(uri, t) for t, uri in reversed(chosen)]
        cursors = ({"after": str(ms(chosen[-1][0])), "before": str(ms(chosen[0][0]))}
                   if chosen else None)
        return history_page({"items": items, "cursors": cursors, "limit": limit})

    def now_playing(self) -> dict[str, Any] | None:
        self._call()
        return self.now_playing_records.pop(0) if self.now_playing_records else None
