"""Flat records to pandas DataFrames with one fixed schema, zero rows included.

Column order is :data:`~spotkit.records.NOW_PLAYING_COLUMNS` or
:data:`~spotkit.records.HISTORY_COLUMNS`; keys outside the schema are dropped. Dtypes:

- ``fetched_at``, ``played_at``: ``datetime64[ns, UTC]`` (missing: ``NaT``)
- ``duration_ms``, ``progress_ms``: nullable ``Int64``
- ``is_playing``, ``shuffle``: nullable ``boolean``
- every other column: pandas' nullable ``string`` dtype (missing: ``<NA>``)

pandas is imported inside the functions, so ``import spotkit`` never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .records import HISTORY_COLUMNS, NOW_PLAYING_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMN_DTYPES", "Kind", "columns_for", "empty_frame", "to_frame"]

Kind = Literal["now_playing", "history"]

#: The dtype of every column that is not a string column.
COLUMN_DTYPES: dict[str, str] = {
    "fetched_at": "datetime64[ns, UTC]",
    "played_at": "datetime64[ns, UTC]",
    "duration_ms": "Int64",
    "progress_ms": "Int64",
    "is_playing": "boolean",
    "shuffle": "boolean",
}
_STRING = "string"


def columns_for(kind: Kind) -> tuple[str, ...]:
    """The column order of a `kind` of record."""
    if kind == "now_playing":
        return NOW_PLAYING_COLUMNS
    if kind == "history":
        return HISTORY_COLUMNS
    raise ValueError(f"kind must be 'now_playing' or 'history', not {kind!r}")


def _infer_kind(rows: list[Mapping[str, Any]]) -> Kind:
    if not rows:
        # an empty list comes from recently_played() far more often than from a poller
        return "history"
    first = rows[0]
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
    when nothing plays: zero rows). `None` entries in a list are skipped. `kind` is inferred from
    the keys when not given; an empty list without `kind` gives the history schema.
    """
    import pandas as pd

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
