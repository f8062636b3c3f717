"""Spotify's own data export (the privacy page download) to history rows.

Two formats, told apart by each record's keys, not by the file name:

- basic ``StreamingHistory*.json`` (``StreamingHistory_music_0.json``, ``StreamingHistory0.json``,
  ``StreamingHistory_podcast_0.json``): ``endTime`` ("YYYY-MM-DD HH:MM", UTC, minute precision),
  ``artistName``/``trackName`` or ``podcastName``/``episodeName``, ``msPlayed``. No URI, so these
  rows get a synthetic key ``export:basic:<artist>:<track>`` and ``item_uri`` NULL: they can never
  be matched exactly to rows from the Web API and are kept as their own source, ``export_basic``.
- extended ``Streaming_History_Audio_*.json`` (and the older ``endsong_*.json``): ``ts`` (ISO UTC,
  second precision, the *end* of the play), ``spotify_track_uri`` / ``spotify_episode_uri`` /
  ``audiobook_chapter_uri``, names, and the extras kept in the extra columns (``ms_played``,
  ``skipped``, ``reason_start``, ``reason_end``, ``shuffle``, ``offline``, ``incognito_mode``,
  ``platform``, ``conn_country``). Source ``export_extended``. IP addresses and user names in the
  file are not stored.

Each play's key is ``(played_at, URI)``, so importing the same files twice adds nothing. Plays of
the same item ending in the same second (minute, for basic rows) are real and common (skipping
through a playlist): within one import they get the keys ``URI``, ``URI#2``, ``URI#3``... in file
order, which re-importing reproduces.

The Web API's ``played_at`` and the export's ``ts`` of the same play differ by up to a few
seconds (and in precision), so an exported play and a recorded one are two rows with different
``source`` values; filter on ``source`` to pick one view.

Every field is read defensively (the format changed over the years): a missing or mistyped field
is NULL, and a record without a usable time is skipped and counted.
"""

from __future__ import annotations

import itertools
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatch
from functools import cache
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

from .._values import as_bool, as_int, as_str, to_ms
from ..errors import HistoryError
from ..logs import logger
from ..records import parse_timestamp
from .store import DETAIL_COLUMNS, ITEM_COLUMNS, MAX_MS, MIN_MS, NULL_INT, Play, int64

__all__ = [
    "EXPORT_FILE_PATTERNS",
    "Cache",
    "ExportFile",
    "ImportResult",
    "Numbering",
    "export_play",
    "export_row",
    "export_rows",
    "file_plays",
    "find_export_files",
    "load_export_file",
]

#: File names of audio streaming history inside an export (a folder or the downloaded zip).
EXPORT_FILE_PATTERNS: tuple[str, ...] = (
    "StreamingHistory*.json", "Streaming_History_Audio_*.json", "endsong*.json",
)

SOURCE_BASIC = "export_basic"
SOURCE_EXTENDED = "export_extended"


@dataclass(frozen=True)
class ExportFile:
    """One JSON file of an export: a path, or a member of a zip."""

    path: Path
    member: str | None = None

    @property
    def name(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    def size(self) -> int:
        """Its size in bytes (0 if that cannot be told; reading it will say why)."""
        try:
            if self.member is None:
                return self.path.stat().st_size
            with zipfile.ZipFile(self.path) as archive:
                return archive.getinfo(self.member).file_size
        except (OSError, KeyError, zipfile.BadZipFile):
            return 0

    def read_bytes(self) -> bytes:
        """Its bytes. Raises :class:`HistoryError` naming it and what to do, whatever fails."""
        try:
            if self.member is None:
                return self.path.read_bytes()
            with zipfile.ZipFile(self.path) as archive:
                return archive.read(self.member)
        except IsADirectoryError:
            raise HistoryError(f"{self.name} is a folder, not a file; give the export's folder "
                               "or its files.") from None
        except OSError as exc:
            raise HistoryError(f"Cannot read {self.name}: {exc.strerror or exc}; check that it "
                               "is there and that you may read it.") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
                ValueError) as exc:
            # a bad CRC, a truncated member, an unknown compression, a password
            raise HistoryError(f"{self.name} cannot be unpacked ({exc}): the zip is damaged or "
                               "incomplete; download the export from Spotify again.") from None


@dataclass(frozen=True)
class ImportResult:
    """What an import did: files read, records in them, plays added, already there, skipped."""

    files: int
    records: int
    added: int
    duplicates: int
    skipped: int

    def __str__(self) -> str:
        return (f"{self.added} new plays from {self.records} records in {self.files} file(s) "
                f"({self.duplicates} already stored, {self.skipped} unreadable)")


def _matches(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return any(fnmatch(base, pattern) for pattern in EXPORT_FILE_PATTERNS)


def _prefer_extended(names: list[str]) -> list[str]:
    """Drop the basic files of a folder or zip that also holds the extended history.

    The extended history covers the account's whole life, the basic one only its last year: the
    same plays twice, and basic rows (minute precision, no URIs) cannot be matched to extended
    ones. A basic file given by name is still imported.
    """
    extended = [n for n in names if not fnmatch(n.rsplit("/", 1)[-1], "StreamingHistory*.json")]
    if extended and len(extended) < len(names):
        logger.info("import: %d basic history file(s) skipped, the extended history covers them",
                    len(names) - len(extended))
        return extended
    return names


def find_export_files(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
                      ) -> list[ExportFile]:
    """The export files in `paths`: files as given, folders and zips searched for history files.

    Raises :class:`HistoryError` for a path that does not exist, or when nothing is found.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[ExportFile] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            try:
                names = [str(p) for p in sorted(path.rglob("*.json")) if _matches(p.name)]
            except OSError as exc:
                raise HistoryError(f"Cannot look through the folder {path}: "
                                   f"{exc.strerror or exc}; check that you may read it.") from None
            found.extend(ExportFile(Path(n)) for n in _prefer_extended(names))
        elif path.is_file() and zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    members = sorted(n for n in archive.namelist() if _matches(n))
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise HistoryError(f"Cannot read the zip file {path} ({exc}): it is damaged or "
                                   "incomplete; download the export from Spotify again.") from None
            found.extend(ExportFile(path, m) for m in _prefer_extended(members))
        elif path.is_file() and path.suffix.lower() == ".zip":
            raise HistoryError(f"{path} is not a readable zip (damaged, or the download did not "
                               "finish); download the export from Spotify again.")
        elif path.is_file():
            found.append(ExportFile(path))
        else:
            raise HistoryError(f"{path} does not exist; give the export's JSON files, its folder "
                               "or the zip Spotify sent.")
    if not found:
        raise HistoryError("No Spotify streaming history files found (looked for "
                           f"{', '.join(EXPORT_FILE_PATTERNS)}).")
    return found


def load_export_file(file: ExportFile, raw: bytes | None = None) -> list[Any]:
    """The JSON list of one export file (of `raw`, its bytes, if already read).

    Raises :class:`HistoryError` if it is not one.
    """
    raw = file.read_bytes() if raw is None else raw
    if not raw.strip():
        raise HistoryError(f"{file.name} is empty; download the export from Spotify again, or "
                           "leave that file out.")
    typed = _decode_extended(raw)
    if typed is not None:
        return typed
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise HistoryError(f"{file.name} is not UTF-8 text (byte {exc.start} is "
                           f"{raw[exc.start:exc.start + 1]!r}); is it a Spotify streaming history "
                           "file?") from None
    except RecursionError:
        raise HistoryError(f"{file.name} nests JSON too deeply to be a Spotify streaming "
                           "history file; leave it out.") from None
    except ValueError as exc:
        raise HistoryError(f"{file.name} is not valid JSON ({exc}); is it a Spotify streaming "
                           "history file?") from None
    if not isinstance(data, list):
        raise HistoryError(f"{file.name} is not a Spotify streaming history file (expected a JSON "
                           "list of plays).")
    return data


@cache
def _extended_decoder() -> Callable[[bytes], list[Any]] | None:
    """msgspec's decoder of a JSON list of extended records into structs of just the fields
    spotkit reads (3x faster than :func:`json.loads`, the other fields never become objects).
    Every field is ``Any``, so a mistyped value reaches the same defensive code as before."""
    try:
        import msgspec
    except ImportError:   # pragma: no cover - a dependency; json.loads reads the same files
        return None
    fields = ("ts", "ms_played", *_ITEM_FIELDS, *_DETAIL_FIELDS)
    record = msgspec.defstruct(
        "ExtendedRecord", [(f, Any) if f == "ts" else (f, Any, None) for f in fields],
        gc=False, namespace={"get": lambda self, name, default=None: getattr(self, name, default)})
    decode: Callable[[bytes], list[Any]] = msgspec.json.Decoder(list[record]).decode  # type: ignore[valid-type]
    return decode


def _decode_extended(raw: bytes) -> list[Any] | None:
    """The records of an extended export file as structs, or None when `raw` is anything else
    (not a list of objects each with a ``ts``, a BOM, JSON only :func:`json.loads` reads...):
    that goes the general way, with its messages."""
    decode = _extended_decoder()
    if decode is None:
        return None
    try:
        if not raw.isascii():   # msgspec skips the fields it is not asked for unchecked
            raw.decode("utf-8")
        return decode(raw)
    except Exception:   # whatever it is, the general path reads or explains it
        return None


# --- one record to one row ---------------------------------------------------------------------


# export files spell numbers and flags loosely ("123", 0/1, "true"); an empty string is missing
def _str(value: object) -> str | None:
    text = as_str(value, empty=False)
    if text is not None and not text.isascii():
        try:   # JSON may spell a lone surrogate ("\ud800"): not text SQLite can store
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None
    return text


def _int(value: object) -> int | None:
    """An integer SQLite can store, or None (beyond 64 bits is as unreadable as text)."""
    number = as_int(value, digits=True)
    return None if number is None else int64(number)


def _bool(value: object) -> bool | None:
    return as_bool(value, loose=True)


class _OutOfRange(ValueError):
    """A record's time lies outside what a pandas DataFrame can hold."""


def _time_ms(value: object) -> int | None:
    ms: int | None = None
    if isinstance(value, str) and value.endswith("Z"):
        # the extended export's "2023-12-01T07:45:12Z": the C parser, 4x faster than the regex
        try:
            moment = datetime.fromisoformat(value[:-1])
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                ms = (moment - _EPOCH) // _MS
    if ms is None:
        parsed = parse_timestamp(value)
        if parsed is None:
            return None
        ms = to_ms(parsed)
    if not MIN_MS <= ms <= MAX_MS:
        raise _OutOfRange(value)
    return ms


_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)


def _uri_id(uri: str | None) -> str | None:
    if uri is None:
        return None
    parts = uri.split(":")
    return parts[2] if len(parts) == 3 and parts[0] == "spotify" and parts[1] != "local" else None


#: Fields of an extended record that make its item, and those that make its details.
_ITEM_FIELDS = (
    "spotify_track_uri", "master_metadata_track_name", "master_metadata_album_artist_name",
    "master_metadata_album_album_name", "spotify_episode_uri", "episode_name", "episode_show_name",
    "audiobook_chapter_uri", "audiobook_chapter_title", "audiobook_title")
_DETAIL_FIELDS = ("skipped", "reason_start", "reason_end", "shuffle", "offline", "incognito_mode",
                  "platform", "conn_country")


def _extended_item(fields: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The play key and the item of an extended record's :data:`_ITEM_FIELDS`."""
    track_uri, track, artist, album_name, episode_uri, episode, show, chapter_uri, chapter, book = \
        fields
    artists = album = None
    uri = _str(track_uri)
    name = _str(track)
    if uri or name:
        item_type = "track"
        artists = _str(artist)
        album = _str(album_name)
    elif (uri := _str(episode_uri)) or (name := _str(episode)):
        item_type = "episode"
        name = name or _str(episode)
        album = _str(show)
    elif (uri := _str(chapter_uri)) or (name := _str(chapter)):
        item_type = "chapter"
        name = name or _str(chapter)
        album = _str(book)
    else:
        item_type = "unknown"
    key = uri or f"export:extended:{artists or album or ''}:{name or ''}"
    return key, (item_type, _uri_id(uri), uri, name, artists, album, None)


def _extended_detail(fields: tuple[Any, ...]) -> tuple[Any, ...]:
    """The details of an extended record's :data:`_DETAIL_FIELDS`."""
    skipped, reason_start, reason_end, shuffle, offline, incognito, platform, country = fields
    return (SOURCE_EXTENDED, None, None, _bool(skipped), _str(reason_start), _str(reason_end),
            _bool(shuffle), _bool(offline), _bool(incognito), _str(platform), _str(country))


def _extended_play(rec: Mapping[str, Any]) -> Play | None:
    played_at = _time_ms(rec.get("ts"))
    if played_at is None:
        return None
    key, item = _extended_item(tuple(map(rec.get, _ITEM_FIELDS)))
    detail = _extended_detail(tuple(map(rec.get, _DETAIL_FIELDS)))
    return (played_at, key, item, detail, _int(rec.get("ms_played")))


_BASIC_DETAIL = (SOURCE_BASIC, *([None] * (len(DETAIL_COLUMNS) - 1)))


def _basic_play(rec: Mapping[str, Any]) -> Play | None:
    played_at = _time_ms(rec.get("endTime"))
    if played_at is None:
        return None
    if "podcastName" in rec or "episodeName" in rec:
        item_type = "episode"
        artists, album = None, _str(rec.get("podcastName"))
        name = _str(rec.get("episodeName"))
        who = album
    else:
        item_type = "track"
        artists, album = _str(rec.get("artistName")), None
        name = _str(rec.get("trackName"))
        who = artists
    item = (item_type, None, None, name, artists, album, None)
    return (played_at, f"export:basic:{who or ''}:{name or ''}", item, _BASIC_DETAIL,
            _int(rec.get("msPlayed")))


def export_play(record: object) -> Play | None:
    """The :data:`~spotkit.history.store.Play` of one export record (either format), or None
    if it has no usable time.

    Raises:
        ValueError: its time is outside the years 1677-2262, which a DataFrame cannot hold.
    """
    if not isinstance(record, Mapping):
        return None
    if "ts" in record:
        return _extended_play(record)
    if "endTime" in record:
        return _basic_play(record)
    return None


def export_row(record: object) -> dict[str, Any] | None:
    """The history row (a dict of the store's columns) of one export record, or None."""
    play = export_play(record)
    return None if play is None else _row_of(play)


def _row_of(play: Play) -> dict[str, Any]:
    played_at, key, item, detail, ms_played = play
    return {"played_at": played_at, "play_key": key, **dict(zip(ITEM_COLUMNS, item, strict=True)),
            **dict(zip(DETAIL_COLUMNS, detail, strict=True)), "ms_played": ms_played}


class Numbering:
    """Numbers repeat plays of one item in the same second (minute) within one import: ``URI``,
    ``URI#2``, ``URI#3``... in file order, so importing the same files again gives the same keys.

    Memory stays small at a million plays: each earlier file is kept as two integer arrays
    (times, key numbers), searched only for the rare play whose time an earlier file also had.
    """

    def __init__(self) -> None:
        self._key_numbers: dict[str, int] = {}
        self._next = itertools.count()
        self._earlier: list[tuple[Any, Any]] = []

    def number(self, plays: list[Play]) -> list[Play]:
        """`plays` (one file's, in file order) with repeat keys numbered."""
        import numpy as np
        import pandas as pd

        count = len(plays)
        # a number per distinct key (factorized in C), not per play; unused numbers are fine
        codes, distinct = pd.factorize(pd.Series(list(map(_SECOND, plays)), dtype=object))
        kids = np.fromiter(map(self._key_numbers.setdefault, distinct, self._next),
                           dtype=np.int64, count=len(distinct))[codes]
        times = np.fromiter(map(_FIRST, plays), dtype=np.int64, count=count)
        seen = self._earlier_counts(times)
        # only plays whose (time, key) pair another play of this file or an earlier one shares
        # can need a number: found in C, then numbered one by one in file order
        order = np.lexsort((kids, times))
        same = (times[order][1:] == times[order][:-1]) & (kids[order][1:] == kids[order][:-1])
        shared = np.zeros(count, dtype=bool)
        shared[order[1:][same]] = True
        shared[order[:-1][same]] = True
        if seen:
            shared |= np.isin(times, np.fromiter((t for t, _ in seen), dtype=np.int64))
        out = plays
        for i in np.flatnonzero(shared).tolist():
            play = plays[i]
            pair = (play[0], int(kids[i]))
            n = seen.get(pair, 0) + 1
            seen[pair] = n
            if n > 1:
                if out is plays:
                    out = list(plays)
                out[i] = (play[0], f"{play[1]}#{n}", play[2], play[3], play[4])
        self._earlier.append((times, kids))
        return out

    def _earlier_counts(self, times: Any) -> dict[tuple[int, int], int]:
        import numpy as np

        counts: dict[tuple[int, int], int] = {}
        if not len(times):
            return counts
        low, high = times.min(), times.max()
        for earlier, kids in self._earlier:
            # files cover stretches of time: most earlier ones cannot share a time at all
            near = (earlier >= low) & (earlier <= high)
            if not near.any():
                continue
            for i in np.flatnonzero(near & np.isin(earlier, times)).tolist():
                pair = (int(earlier[i]), int(kids[i]))
                counts[pair] = counts.get(pair, 0) + 1
        return counts


_FIRST, _SECOND = itemgetter(0), itemgetter(1)

#: Items and details already built, by the record fields they were built from.
Cache = dict[tuple[Any, ...], Any]


def file_plays(records: list[Any], name: str, items: Cache | None = None,
               details: Cache | None = None) -> tuple[list[Play], int]:
    """The plays of one file's records (not yet numbered) and how many records were unusable.

    The same plays as :func:`export_play` of each record, made faster: the item and details of
    the extended format are built once per distinct combination of their fields, and its times
    (``2023-12-01T07:45:12Z``) parsed by pandas in one call; any other record takes the
    record-by-record path. `records` are as :func:`load_export_file` gives them (msgspec's
    structs of an extended file, else what :func:`json.loads` makes). Pass the same `items` and
    `details` dicts for every file of an import.

    Raises:
        HistoryError: a record's time is outside the years 1677-2262 (the file is refused whole).
    """
    import pandas as pd

    items = {} if items is None else items
    details = {} if details is None else details
    track_fields: Callable[[Any], tuple[Any, ...]] = itemgetter(*_ITEM_FIELDS[:4])
    detail_fields: Callable[[Any], tuple[Any, ...]] = itemgetter(*_DETAIL_FIELDS)
    parts: list[tuple[str, tuple[Any, ...], tuple[Any, ...], int | None] | None] = []
    stamps: list[str | None] = []
    if records and type(records[0]) is not dict and hasattr(records[0], "__struct_fields__"):
        _typed_parts(records, items, details, parts, stamps)
        records_left: list[Any] = []
    else:
        records_left = records
    for rec in records_left:
        if type(rec) is not dict or "ts" not in rec:
            parts.append(None)
            stamps.append(None)
            continue
        try:
            fields = track_fields(rec)
        except KeyError:   # an older export without some fields: from now on, get each one
            track_fields = _each(_ITEM_FIELDS[:4])
            fields = track_fields(rec)
        if not (fields[0] and type(fields[0]) is str):
            fields = tuple(map(rec.get, _ITEM_FIELDS))   # not a track with a URI: every field
        # else a track's URI, name, artist and album alone make its item (see _extended_item)
        try:
            key, item = items[fields]
        except KeyError:
            key, item = items[fields] = _extended_item(tuple(map(rec.get, _ITEM_FIELDS)))
        except TypeError:  # a list or object where text belongs: not cached
            key, item = _extended_item(tuple(map(rec.get, _ITEM_FIELDS)))
        try:
            fields = detail_fields(rec)
        except KeyError:
            detail_fields = _each(_DETAIL_FIELDS)
            fields = detail_fields(rec)
        try:
            detail = details[fields]
        except KeyError:
            detail = details[fields] = _extended_detail(fields)
        except TypeError:
            detail = _extended_detail(fields)
        ms = rec.get("ms_played")
        parts.append((key, item, detail, ms if type(ms) is int and _INT_LO < ms < _INT_HI
                      else _int(ms)))
        ts = rec.get("ts")
        stamps.append(ts if type(ts) is str and len(ts) == 20 and ts[10] == "T" and ts[19] == "Z"
                      else None)
    times = pd.to_datetime(pd.Series(stamps, dtype=object), format="ISO8601", utc=True,
                           errors="coerce").dt.as_unit("ms").array.asi8
    if len(times) and times.min() >= MIN_MS and times.max() <= MAX_MS and None not in parts:
        # every record usable, every time canonical and in range (NaT is below MIN_MS)
        return [(at, *part) for at, part in zip(times.tolist(), parts, strict=True)], 0  # type: ignore[misc]
    plays: list[Play] = []
    append = plays.append
    skipped = 0
    for index, (part, at) in enumerate(zip(parts, times.tolist(), strict=True)):
        try:
            if part is None:
                play = export_play(records[index])
                if play is None:
                    skipped += 1
                else:
                    append(play)
                continue
            played_at = at if at != NAT else _time_ms(records[index].get("ts"))
            if played_at is None:
                skipped += 1
            elif not MIN_MS <= played_at <= MAX_MS:
                raise _OutOfRange(records[index].get("ts"))
            else:
                append((played_at, *part))
        except _OutOfRange as exc:
            raise HistoryError(
                f"{name}: record {index} is dated {str(exc)[:40]!r}, outside the years 1677-2262 "
                "that pandas can hold; nothing of this file was imported. Correct or remove that "
                "record, then import again.") from None
    return plays, skipped


def _typed_parts(records: list[Any], items: Cache, details: Cache, parts: list[Any],
                 stamps: list[str | None]) -> None:
    """:func:`file_plays`' first pass over records decoded by :func:`_decode_extended`."""
    track_fields = attrgetter(*_ITEM_FIELDS[:4])
    item_fields = attrgetter(*_ITEM_FIELDS)
    detail_fields = attrgetter(*_DETAIL_FIELDS)
    for rec in records:
        fields = track_fields(rec)
        if not (fields[0] and type(fields[0]) is str):
            fields = item_fields(rec)   # not a track with a URI: every field
        try:
            key, item = items[fields]
        except KeyError:
            key, item = items[fields] = _extended_item(item_fields(rec))
        except TypeError:  # a list or object where text belongs: not cached
            key, item = _extended_item(item_fields(rec))
        fields = detail_fields(rec)
        try:
            detail = details[fields]
        except KeyError:
            detail = details[fields] = _extended_detail(fields)
        except TypeError:
            detail = _extended_detail(fields)
        ms = rec.ms_played
        parts.append((key, item, detail, ms if type(ms) is int and _INT_LO < ms < _INT_HI
                      else _int(ms)))
        ts = rec.ts
        stamps.append(ts if type(ts) is str and len(ts) == 20 and ts[10] == "T" and ts[19] == "Z"
                      else None)


def _each(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    return lambda rec: tuple(map(rec.get, names))


_INT_LO, _INT_HI = NULL_INT, -NULL_INT
NAT = NULL_INT


def export_rows(records: Iterable[object], stats: dict[str, int] | None = None
                ) -> Iterator[dict[str, Any]]:
    """Rows of export records, with repeat plays in the same second numbered (``URI#2``...).

    Unusable records are skipped and counted in ``stats["skipped"]``.
    """
    plays, skipped = file_plays(list(records), "records")
    for play in Numbering().number(plays):
        yield _row_of(play)
    if stats is not None:
        stats["skipped"] = stats.get("skipped", 0) + skipped
