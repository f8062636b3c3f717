"""Stored plays to pandas DataFrames, and history files (CSV, Parquet) back to DataFrames.

The history columns have exactly the dtypes of :func:`spotkit.frames.to_frame` for history records
(``played_at`` ``datetime64[ns, UTC]``, ``duration_ms`` ``Int64``, the rest ``string``); the extra
export columns are ``Int64`` (``ms_played``), ``boolean`` (``skipped``, ``shuffle``, ``offline``,
``incognito_mode``) and ``string``. pandas is imported inside the functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._values import to_ms
from ..errors import HistoryError
from ..records import HISTORY_COLUMNS, parse_timestamp
from .progress import progress_bar
from .store import (
    BOOL_COLUMNS,
    EXTRA_COLUMNS,
    INT_COLUMNS,
    ITEM_COLUMNS,
    MAX_MS,
    MIN_MS,
    NULL_INT,
    FrameData,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXTENDED_COLUMNS",
    "FRAME_DTYPES",
    "columns_of",
    "plays_frame",
    "read_history",
    "time_ms",
    "write_history",
]

#: The history columns followed by the extra columns of Spotify's extended export.
EXTENDED_COLUMNS: tuple[str, ...] = (*HISTORY_COLUMNS, *EXTRA_COLUMNS)

#: dtype of every column of a history frame: text columns are categoricals (a lifetime of plays
#: repeats a few thousand tracks: a million rows take tens of MB instead of hundreds).
FRAME_DTYPES: dict[str, str] = {
    col: "datetime64[ns, UTC]" if col == "played_at" else "boolean" if col in BOOL_COLUMNS
    else "Int64" if col in INT_COLUMNS else "category"
    for col in EXTENDED_COLUMNS
}


def columns_of(extended: bool) -> tuple[str, ...]:
    return EXTENDED_COLUMNS if extended else HISTORY_COLUMNS


def time_ms(value: datetime | date | str | None, name: str = "time") -> int | None:
    """Unix ms of a `since`/`until` bound: a datetime (naive is UTC), a date (midnight UTC),
    an ISO 8601 string, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_timestamp(value)
        if parsed is None:
            try:
                parsed = datetime.combine(date.fromisoformat(value.strip()), time(),
                                          tzinfo=timezone.utc)
            except ValueError:
                raise ValueError(f"{name}={value!r} is not an ISO 8601 date or time") from None
        return to_ms(parsed)
    if isinstance(value, datetime):
        return to_ms(value)
    if isinstance(value, date):
        return to_ms(datetime.combine(value, time(), tzinfo=timezone.utc))
    raise TypeError(f"{name} must be a datetime, a date or an ISO 8601 string, "
                    f"not {type(value).__name__}")


def check_columns(columns: Sequence[str]) -> tuple[str, ...]:
    """`columns` as a tuple; raises ValueError naming any that a history frame does not have."""
    unknown = [c for c in columns if c not in FRAME_DTYPES]
    if unknown or isinstance(columns, str):
        raise ValueError(f"unknown history columns: {unknown or columns!r}; choose from "
                         f"{', '.join(EXTENDED_COLUMNS)}")
    return tuple(columns)


def plays_frame(data: FrameData, columns: Sequence[str]) -> pd.DataFrame:
    """The DataFrame of `columns` of the plays in `data` (see :data:`FRAME_DTYPES`).

    Text columns are categoricals built from the codes of the ``items`` and ``details`` tables,
    so no per-row Python string is ever made.
    """
    import numpy as np
    import pandas as pd

    plays = data.plays
    at = plays["played_at"]
    if len(at) > 1 and not bool((np.diff(at) >= 0).all()):
        order = np.argsort(at, kind="stable")
        plays = {name: array[order] for name, array in plays.items()}
        at = plays["played_at"]
    if len(at) and (int(at.min()) < MIN_MS or int(at.max()) > MAX_MS):
        raise HistoryError("The history holds plays dated outside the years 1677-2262, which a "
                           "DataFrame cannot hold; pass since= and until= within those years.")
    items = _Table(data.items, data.item_columns, plays.get("item"))
    details = _Table(data.details, data.detail_columns, plays.get("detail"))
    out: dict[str, Any] = {}
    for col in columns:
        if col == "played_at":
            stamps = pd.DatetimeIndex(at.astype("datetime64[ms]")).as_unit("ns")
            out[col] = stamps.tz_localize("UTC").array
        elif col == "ms_played":
            values = plays["ms_played"]
            out[col] = pd.arrays.IntegerArray(values, values == NULL_INT)
        else:
            out[col] = (items if col in ITEM_COLUMNS else details).column(col)
    return pd.DataFrame(out, columns=list(columns))


class _Table:
    """One of the tables plays point at, and the positions of its rows the plays use."""

    def __init__(self, rows: list[tuple[Any, ...]], names: Sequence[str], ids: Any) -> None:
        import numpy as np

        self.rows, self.names = rows, list(names)
        if ids is None:   # no column of this table is wanted
            return
        row_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        lookup = np.full(int(row_ids.max(initial=0)) + 1, -1, dtype=np.int32)
        lookup[row_ids] = np.arange(len(rows), dtype=np.int32)
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= len(lookup)):
            raise HistoryError("The history database refers to rows it does not have; run "
                               "`sqlite3 <file> 'PRAGMA integrity_check'` and restore a backup.")
        self.positions = lookup[ids]
        if len(ids) and int(self.positions.min()) < 0:
            raise HistoryError("The history database refers to rows it does not have; run "
                               "`sqlite3 <file> 'PRAGMA integrity_check'` and restore a backup.")

    def column(self, name: str) -> Any:
        import numpy as np
        import pandas as pd

        values = [r[self.names.index(name) + 1] for r in self.rows]
        if name in BOOL_COLUMNS:
            flags = np.array([-1 if v is None else int(bool(v)) for v in values], dtype=np.int8)
            taken = flags[self.positions] if len(flags) else np.empty(0, dtype=np.int8)
            return pd.arrays.BooleanArray(taken == 1, taken < 0)
        if name in INT_COLUMNS:
            ints = np.array([NULL_INT if v is None else v for v in values], dtype=np.int64)
            taken = ints[self.positions] if len(ints) else np.empty(0, dtype=np.int64)
            return pd.arrays.IntegerArray(taken, taken == NULL_INT)
        texts = np.array([v if v is None or isinstance(v, str) else str(v) for v in values],
                         dtype=object)
        codes, uniques = pd.factorize(texts, sort=True)
        # the codes in the smallest integer type that holds them, so the take below is small too
        codes = codes.astype(np.int8 if len(uniques) < 127 else np.int16 if len(uniques) < 32_767
                             else np.int32)
        taken = codes[self.positions] if len(codes) else np.empty(0, dtype=codes.dtype)
        return pd.Categorical.from_codes(taken, categories=pd.Index(uniques, dtype=_TEXT),
                                         validate=False)


#: dtype of the categories of text columns: what ``astype("category")`` gives a text column.
_TEXT = "str"


# --- files -------------------------------------------------------------------------------------

_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz")
_CHUNK = 10_000


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    if name.endswith(_CSV):
        return "csv"
    raise HistoryError(f"Cannot tell the format of {path} from its extension: use .csv (also "
                       ".csv.gz) or .parquet.")


def _require_pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise HistoryError("Writing and reading Parquet needs pyarrow: pip install "
                           "'spotkit[parquet]'.") from None
    return pyarrow


def write_history(frame: pd.DataFrame, path: str | os.PathLike[str], *,
                  progress: bool | None = None) -> Path:
    """Write a history frame to CSV or Parquet, chosen by the extension. Returns the path.

    The file is written next to its final name and renamed into place, so a failed or
    interrupted export never leaves half a file under that name.
    """
    target = Path(path).expanduser()
    kind = _kind(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial")
    bar = progress_bar(len(frame), f"Exporting {target.name}", progress)
    try:
        if kind == "csv":
            compression = "infer" if target.suffix.lower() != ".csv" else None
            if compression is None:
                with tmp.open("w", encoding="utf-8", newline="") as fh:
                    for start in range(0, max(len(frame), 1), _CHUNK):
                        chunk = frame.iloc[start:start + _CHUNK]
                        chunk.to_csv(fh, index=False, header=start == 0)
                        bar.update(len(chunk))
            else:
                frame.to_csv(tmp, index=False, compression={"method": _compression(target)})
                bar.update(len(frame))
        else:
            pa = _require_pyarrow()
            table = pa.Table.from_pandas(frame, preserve_index=False)
            with pa.parquet.ParquetWriter(tmp, table.schema) as writer:
                for start in range(0, max(len(frame), 1), _CHUNK * 5):
                    piece = table.slice(start, _CHUNK * 5)
                    writer.write_table(piece)
                    bar.update(piece.num_rows)
        os.replace(tmp, target)
    except OSError as exc:
        raise HistoryError(f"Cannot write {target}: {exc.strerror or exc}.") from None
    finally:
        bar.close()
        tmp.unlink(missing_ok=True)
    return target


def _compression(path: Path) -> str:
    return {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz"}[path.suffix.lower()]


def read_history(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A history file written by :func:`write_history` (or ``HistoryLogger.export``), with the
    history dtypes restored (the columns it has, in file order)."""
    import pandas as pd

    source = Path(path).expanduser()
    kind = _kind(source)
    try:
        if kind == "parquet":
            _require_pyarrow()
            frame = pd.read_parquet(source)
        else:
            frame = pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise HistoryError(f"Cannot read the history file {source}: {exc}.") from None
    data: dict[str, Any] = {}
    for col in frame.columns:
        dtype = FRAME_DTYPES.get(col)
        series = frame[col]
        if dtype is None:
            data[col] = series
        elif dtype.startswith("datetime64"):
            data[col] = pd.to_datetime(series, utc=True, format="ISO8601").astype(dtype)
        elif dtype == "boolean" and kind == "csv":
            data[col] = series.map({"True": True, "False": False}).astype(dtype)
        elif dtype == "category":   # the categories as to_frame() makes them, whatever the file kept
            data[col] = series.astype(_TEXT).astype(dtype)
        else:
            data[col] = series.astype(dtype)
    return pd.DataFrame(data, columns=list(frame.columns))
