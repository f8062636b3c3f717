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
from ..frames import COLUMN_DTYPES
from ..records import HISTORY_COLUMNS, parse_timestamp
from .progress import progress_bar
from .store import BOOL_COLUMNS, EXTRA_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXTENDED_COLUMNS",
    "FRAME_DTYPES",
    "columns_of",
    "read_history",
    "rows_to_frame",
    "time_ms",
    "write_history",
]

#: The history columns followed by the extra columns of Spotify's extended export.
EXTENDED_COLUMNS: tuple[str, ...] = (*HISTORY_COLUMNS, *EXTRA_COLUMNS)

#: dtype of every column of a history frame.
FRAME_DTYPES: dict[str, str] = {
    col: COLUMN_DTYPES.get(col, "string") for col in HISTORY_COLUMNS
} | {col: "boolean" if col in BOOL_COLUMNS else "Int64" if col == "ms_played" else "string"
     for col in EXTRA_COLUMNS}


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


def rows_to_frame(rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of stored rows (tuples in `columns` order, `played_at` in Unix ms)."""
    import numpy as np
    import pandas as pd

    # one 2-D object array is built in C, three times faster than zip(*rows)
    table = np.array(rows, dtype=object) if rows else np.empty((0, len(columns)), dtype=object)
    if table.shape != (len(rows), len(columns)):
        raise ValueError(f"rows do not have the {len(columns)} columns {list(columns)}")
    data: dict[str, Any] = {}
    for i, col in enumerate(columns):
        dtype = FRAME_DTYPES[col]
        if col == "played_at":
            times = pd.to_datetime(table[:, i].astype("int64"), unit="ms", utc=True)
            data[col] = pd.Series(times).astype(dtype).array
        else:
            data[col] = pd.array(table[:, i], dtype=dtype)
    return pd.DataFrame(data, columns=list(columns))


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
        else:
            data[col] = series.astype(dtype)
    return pd.DataFrame(data, columns=list(frame.columns))
