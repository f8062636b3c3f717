"""The player: what plays now, what played recently, and playback control (Premium)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from .._values import to_ms
from ..records import HistoryPage, Record, history_page, now_playing_record
from ._base import Endpoint, EndpointGroup
from .paging import MAX_LIMIT, check_limit

__all__ = ["DEFAULT_ADDITIONAL_TYPES", "Moment", "PlayerEndpoints"]

DEFAULT_ADDITIONAL_TYPES = "track,episode"
Moment = int | datetime

_PLAYER = Endpoint("GET", "/me/player", "user-read-playback-state")
_CURRENTLY_PLAYING = Endpoint("GET", "/me/player/currently-playing", "user-read-currently-playing")
_RECENTLY_PLAYED = Endpoint("GET", "/me/player/recently-played", "user-read-recently-played")
_PLAY = Endpoint("PUT", "/me/player/play", "user-modify-playback-state")
_PAUSE = Endpoint("PUT", "/me/player/pause", "user-modify-playback-state")
_NEXT = Endpoint("POST", "/me/player/next", "user-modify-playback-state")
_PREVIOUS = Endpoint("POST", "/me/player/previous", "user-modify-playback-state")

def _ms(value: Moment | None, name: str) -> int | None:
    """Unix milliseconds from an int (already ms) or a datetime (naive means UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_ms(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a datetime or Unix milliseconds (an int >= 0), "
                         f"not {value!r}")
    return value


@functools.lru_cache(maxsize=32)
def _player_path(endpoint: Endpoint, additional_types: str | None, market: str | None) -> str:
    """The endpoint's path with its fixed query (cached: the widget polls it every second)."""
    parts = []
    if additional_types:
        parts.append(f"additional_types={additional_types}")
    if market:
        parts.append(f"market={market}")
    return endpoint.path + ("?" + "&".join(parts) if parts else "")


def _device(device_id: str | None) -> dict[str, str] | None:
    return {"device_id": device_id} if device_id else None


class PlayerEndpoints(EndpointGroup):
    """``/me/player``: playback state, currently playing, recently played, and control."""

    def playback(self, *, additional_types: str | None = DEFAULT_ADDITIONAL_TYPES,
                 market: str | None = None) -> Record | None:
        """The playback state (``GET /me/player``) as a now-playing record, None when idle (204)."""
        body = self._call(_PLAYER, path=_player_path(_PLAYER, additional_types, market))
        return now_playing_record(body, self._clock()) if body is not None else None

    def now_playing(self, *, additional_types: str | None = DEFAULT_ADDITIONAL_TYPES,
                    market: str | None = None) -> Record | None:
        """What plays now (``GET /me/player/currently-playing``), None when nothing does (204).

        Episodes are asked for by default, so a podcast gives a record with its name, not None.
        """
        body = self._call(_CURRENTLY_PLAYING,
                          path=_player_path(_CURRENTLY_PLAYING, additional_types, market))
        return now_playing_record(body, self._clock()) if body is not None else None

    def recently_played_page(self, after: Moment | None = None, before: Moment | None = None,
                             limit: int = MAX_LIMIT) -> HistoryPage:
        """One page of ``GET /me/player/recently-played``: records (newest first) and cursors.

        `after` / `before` are datetimes or Unix ms, not both; `limit` is 1-50.
        """
        if after is not None and before is not None:
            raise ValueError("pass either after or before, not both (Spotify accepts one)")
        params: dict[str, int] = {"limit": check_limit(limit)}
        after_ms, before_ms = _ms(after, "after"), _ms(before, "before")
        if after_ms is not None:
            params["after"] = after_ms
        if before_ms is not None:
            params["before"] = before_ms
        return history_page(self._call(_RECENTLY_PLAYED, params=params))

    def recently_played(self, after: Moment | None = None, before: Moment | None = None,
                        limit: int = MAX_LIMIT) -> list[Record]:
        """Flat history records (newest first) of the last plays; Spotify keeps only 50."""
        return self.recently_played_page(after=after, before=before, limit=limit).records

    def iter_recently_played(self, after: Moment | None = None, before: Moment | None = None,
                             limit: int = MAX_LIMIT,
                             max_pages: int | None = None) -> Iterator[Record]:
        """Every record reachable by following the cursors, page by page.

        With `after`, walks forward in time (each page newest first); otherwise walks back from
        `before` (or now). Stops at a short or empty page, a missing or repeated cursor, or
        `max_pages`.
        """
        forward = after is not None
        cursor = _ms(after if forward else before, "after" if forward else "before")
        pages = 0
        while max_pages is None or pages < max_pages:
            page = (self.recently_played_page(after=cursor, limit=limit) if forward
                    else self.recently_played_page(before=cursor, limit=limit))
            pages += 1
            yield from page.records
            following = page.cursor_after if forward else page.cursor_before
            if page.raw_count < limit or following is None or following == cursor:
                return
            cursor = following

    # --- playback control (Premium) ---------------------------------------------------------

    def play(self, device_id: str | None = None, *, context_uri: str | None = None,
             uris: Sequence[str] | None = None, position_ms: int | None = None) -> None:
        """Start or resume playback (``PUT /me/player/play``)."""
        body: dict[str, Any] = {}
        if context_uri:
            body["context_uri"] = context_uri
        if uris:
            body["uris"] = list(uris)
        if position_ms is not None:
            body["position_ms"] = position_ms
        self._call(_PLAY, params=_device(device_id), json_body=body or None)

    def pause(self, device_id: str | None = None) -> None:
        """Pause playback (``PUT /me/player/pause``)."""
        self._call(_PAUSE, params=_device(device_id))

    def next(self, device_id: str | None = None) -> None:
        """Skip to the next item (``POST /me/player/next``); never sent twice by a retry."""
        self._call(_NEXT, params=_device(device_id))

    def previous(self, device_id: str | None = None) -> None:
        """Skip to the previous item (``POST /me/player/previous``); never sent twice by a retry."""
        self._call(_PREVIOUS, params=_device(device_id))
