"""Recently-played bodies to history records and their cursors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ..errors import MalformedResponse
from ._getters import (
    Record,
    _describe,
    _get,
    _int,
    _item_fields,
    _item_type,
    _obj,
    _require_object,
    _str,
    parse_timestamp,
)

__all__ = ["HISTORY_COLUMNS", "HistoryPage", "history_page", "history_record"]

HISTORY_COLUMNS: tuple[str, ...] = (
    "played_at", "item_type", "item_id", "item_uri", "name", "artists", "album", "duration_ms",
    "context_type", "context_uri", "source",
)


def history_record(play_history_item: Mapping[str, Any],
                   source: str = "recently_played") -> Record:
    """A flat history record from one `items[]` entry of `/me/player/recently-played`.

    Raises :class:`MalformedResponse` if the entry is not a JSON object; an unparseable
    `played_at` gives `None`.
    """
    entry = _require_object(play_history_item, "a play history item")
    item = _obj(entry.get("track"))
    if item is None:
        item = _obj(entry.get("episode")) or _obj(entry.get("item"))
    item_type = _item_type(None, item)
    fields = _item_fields(item, item_type)
    context = _obj(entry.get("context"))
    record: Record = {
        "played_at": parse_timestamp(entry.get("played_at")),
        "item_type": item_type,
        "context_type": _str(_get(context, "type")),
        "context_uri": _str(_get(context, "uri")),
        "source": source,
        **fields,
    }
    return {key: record[key] for key in HISTORY_COLUMNS}


class HistoryPage(NamedTuple):
    """One page of `/me/player/recently-played`: its records and cursors (Unix ms, or None)."""

    records: list[Record]
    cursor_after: int | None = None
    cursor_before: int | None = None
    raw_count: int = 0


def _cursor(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return _int(value)


def history_page(body: Mapping[str, Any] | None, source: str = "recently_played") -> HistoryPage:
    """The records and cursors of a recently-played body. Raises :class:`MalformedResponse`."""
    if body is None:
        return HistoryPage([])
    body = _require_object(body, "a recently-played page")
    items = body.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise MalformedResponse(f"Spotify sent {_describe(items)} as the recently-played items "
                                "where a JSON array was expected.")
    cursors = _obj(body.get("cursors"))
    return HistoryPage(
        records=[history_record(item, source) for item in items],
        cursor_after=_cursor(_get(cursors, "after")),
        cursor_before=_cursor(_get(cursors, "before")),
        raw_count=len(items),
    )
