"""Flat records to pandas DataFrames with one fixed schema, zero rows included.

Column order is that of the records' kind (:data:`~spotkit.records.KIND_COLUMNS`: now playing,
history, and the library kinds); keys outside the schema are dropped. Dtypes:

- ``fetched_at``, ``played_at``, ``added_at``: ``datetime64[ns, UTC]`` (missing: ``NaT``)
- ``duration_ms``, ``progress_ms``, ``rank``, ``position``, ``items_total``, ``total_tracks``,
  ``total_episodes``: nullable ``Int64``
- ``is_playing``, ``shuffle``, ``explicit``, ``collaborative``, ``public``, ``is_local``: nullable
  ``boolean``
- every other column: pandas' nullable ``string`` dtype (missing: ``<NA>``)

pandas is imported inside the functions, so ``import spotkit`` never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .records import KIND_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMN_DTYPES", "Kind", "columns_for", "empty_frame", "to_frame"]

Kind = Literal["now_playing", "history", "top_tracks", "top_artists", "saved_tracks", "saved_albums",
               "saved_shows", "saved_episodes", "followed_artists", "playlists", "playlist_items"]

#: The dtype of every column that is not a string column.
COLUMN_DTYPES: dict[str, str] = {
    "fetched_at": "datetime64[ns, UTC]",
    "played_at": "datetime64[ns, UTC]",
    "duration_ms": "Int64",
    "progress_ms": "Int64",
    "is_playing": "boolean",
    "shuffle": "boolean",
    "added_at": "datetime64[ns, UTC]",
    "rank": "Int64",
    "position": "Int64",
    "items_total": "Int64",
    "total_tracks": "Int64",
    "total_episodes": "Int64",
    "explicit": "boolean",
    "collaborative": "boolean",
    "public": "boolean",
    "is_local": "boolean",
}
_STRING = "string"


def columns_for(kind: Kind) -> tuple[str, ...]:
    """The column order of a `kind` of record."""
    columns = KIND_COLUMNS.get(kind)
    if columns is None:
        raise ValueError(f"kind must be one of {', '.join(KIND_COLUMNS)}, not {kind!r}")
    return columns


def _infer_kind(rows: list[Mapping[str, Any]]) -> Kind:
    if not rows:
        # an empty list comes from recently_played() far more often than from a poller
        return "history"
    first = rows[0]
    keys = set(first)
    for kind, columns in KIND_COLUMNS.items():
        if keys == set(columns):
            return kind  # type: ignore[return-value]
    if "played_at" in first:
        return "history"
    if "fetched_at" in first or "is_playing" in first:
        return "now_playing"
    raise ValueError("cannot tell what kind of records these are (no 'played_at' or "
                     "'fetched_at' key); pass kind='history' or kind='now_playing'")


def to_frame(records: Iterable[Mapping[str, Any] | None] | Mapping[str, Any] | None,
             kind: Kind | None = None) -> pd.DataFrame:
    """A DataFrame of flat records with the fixed column order and dtypes, even for zero rows.

    `records` is a list of records, one record (one row) or `None` (what `now_playing()` returns
    when nothing plays: zero rows). `None` entries in a list are skipped. `kind` is taken from
    a :class:`~spotkit.records.Records` list (what the library functions return), else inferred
    from the keys; an empty plain list without `kind` gives the history schema.
    """
    import pandas as pd

    kind = kind or getattr(records, "kind", None)

    if records is None:
        rows: list[Mapping[str, Any]] = []
        kind = kind or "now_playing"
    elif isinstance(records, Mapping):
        rows = [records]
    else:
        rows = [r for r in records if r is not None]
        for r in rows:
            if not isinstance(r, Mapping):
                raise TypeError(f"to_frame takes records (dicts), not {type(r).__name__}")
    columns = columns_for(kind or _infer_kind(rows))
    data = {col: _column(pd, [row.get(col) for row in rows], col) for col in columns}
    return pd.DataFrame(data, columns=list(columns))


def empty_frame(kind: Kind) -> pd.DataFrame:
    """A zero-row DataFrame with the columns and dtypes of `kind`."""
    return to_frame([], kind=kind)


def _column(pd: Any, values: list[Any], column: str) -> Any:
    dtype = COLUMN_DTYPES.get(column, _STRING)
    if dtype.startswith("datetime64"):
        # accepts datetimes and ISO strings (records that went through JSON)
        times = pd.to_datetime(values, utc=True, format="ISO8601") if values else \
            pd.DatetimeIndex([], tz="UTC")
        return pd.Series(times).astype(dtype).array
    return pd.array(values, dtype=dtype)
