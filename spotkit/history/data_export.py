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

import json
import os
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from .._values import as_bool, as_int, as_str, to_ms
from ..errors import HistoryError
from ..logs import logger
from ..records import parse_timestamp

__all__ = [
    "EXPORT_FILE_PATTERNS",
    "ExportFile",
    "ImportResult",
    "export_rows",
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

    def read_bytes(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(self.member)


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
            names = _prefer_extended([str(p) for p in sorted(path.rglob("*.json")) if _matches(p.name)])
            found.extend(ExportFile(Path(n)) for n in names)
        elif path.is_file() and zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    members = sorted(n for n in archive.namelist() if _matches(n))
            except (zipfile.BadZipFile, OSError) as exc:
                raise HistoryError(f"Cannot read the zip file {path}: {exc}.") from None
            found.extend(ExportFile(path, m) for m in _prefer_extended(members))
        elif path.is_file():
            found.append(ExportFile(path))
        else:
            raise HistoryError(f"{path} does not exist; give the export's JSON files, its folder "
                               "or the zip Spotify sent.")
    if not found:
        raise HistoryError("No Spotify streaming history files found (looked for "
                           f"{', '.join(EXPORT_FILE_PATTERNS)}).")
    return found


def load_export_file(file: ExportFile) -> list[Any]:
    """The JSON list of one export file. Raises :class:`HistoryError` if it is not one."""
    try:
        data = json.loads(file.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise HistoryError(f"Cannot read {file.name}: {exc.strerror or exc}.") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise HistoryError(f"{file.name} is not valid JSON ({exc}); is it a Spotify streaming "
                           "history file?") from None
    if not isinstance(data, list):
        raise HistoryError(f"{file.name} is not a Spotify streaming history file (expected a JSON "
                           "list of plays).")
    return data


# --- one record to one row ---------------------------------------------------------------------


# export files spell numbers and flags loosely ("123", 0/1, "true"); an empty string is missing
def _str(value: object) -> str | None:
    return as_str(value, empty=False)


def _int(value: object) -> int | None:
    return as_int(value, digits=True)


def _bool(value: object) -> bool | None:
    return as_bool(value, loose=True)


def _time_ms(value: object) -> int | None:
    if isinstance(value, str) and value.endswith("Z"):
        # the extended export's "2023-12-01T07:45:12Z": the C parser, 4x faster than the regex
        try:
            moment = datetime.fromisoformat(value[:-1])
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                return to_ms(moment.replace(tzinfo=timezone.utc))
    parsed = parse_timestamp(value)
    return to_ms(parsed) if parsed is not None else None


def _uri_id(uri: str | None) -> str | None:
    if uri is None:
        return None
    parts = uri.split(":")
    return parts[2] if len(parts) == 3 and parts[0] == "spotify" and parts[1] != "local" else None


def _extended_row(rec: Mapping[str, Any]) -> dict[str, Any] | None:
    get = rec.get
    played_at = _time_ms(get("ts"))
    if played_at is None:
        return None
    artists = album = None
    uri = _str(get("spotify_track_uri"))
    name = _str(get("master_metadata_track_name"))
    if uri or name:
        item_type = "track"
        artists = _str(get("master_metadata_album_artist_name"))
        album = _str(get("master_metadata_album_album_name"))
    elif (uri := _str(get("spotify_episode_uri"))) or (name := _str(get("episode_name"))):
        item_type = "episode"
        name = name or _str(get("episode_name"))
        album = _str(get("episode_show_name"))
    elif (uri := _str(get("audiobook_chapter_uri"))) or \
            (name := _str(get("audiobook_chapter_title"))):
        item_type = "chapter"
        name = name or _str(get("audiobook_chapter_title"))
        album = _str(get("audiobook_title"))
    else:
        item_type = "unknown"
    return {
        "played_at": played_at,
        "play_key": uri or f"export:extended:{artists or album or ''}:{name or ''}",
        "item_type": item_type,
        "item_id": _uri_id(uri),
        "item_uri": uri,
        "name": name,
        "artists": artists,
        "album": album,
        "duration_ms": None,
        "context_type": None,
        "context_uri": None,
        "source": SOURCE_EXTENDED,
        "ms_played": _int(get("ms_played")),
        "skipped": _bool(get("skipped")),
        "reason_start": _str(get("reason_start")),
        "reason_end": _str(get("reason_end")),
        "shuffle": _bool(get("shuffle")),
        "offline": _bool(get("offline")),
        "incognito_mode": _bool(get("incognito_mode")),
        "platform": _str(get("platform")),
        "conn_country": _str(get("conn_country")),
    }


def _basic_row(rec: Mapping[str, Any]) -> dict[str, Any] | None:
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
    return {
        "played_at": played_at,
        "play_key": f"export:basic:{who or ''}:{name or ''}",
        "item_type": item_type,
        "name": name,
        "artists": artists,
        "album": album,
        "source": SOURCE_BASIC,
        "ms_played": _int(rec.get("msPlayed")),
    }


def export_row(record: object) -> dict[str, Any] | None:
    """The history row of one export record (either format), or None if it has no usable time."""
    if not isinstance(record, Mapping):
        return None
    if "ts" in record:
        return _extended_row(record)
    if "endTime" in record:
        return _basic_row(record)
    return None


def export_rows(records: Iterable[object], stats: dict[str, int] | None = None
                ) -> Iterator[dict[str, Any]]:
    """Rows of export records, with repeat plays in the same second numbered (``URI#2``...).

    Unusable records are skipped and counted in ``stats["skipped"]``.
    """
    seen: dict[tuple[int, str], int] = {}
    skipped = 0
    for record in records:
        row = export_row(record)
        if row is None:
            skipped += 1
            continue
        key = (row["played_at"], row["play_key"])
        n = seen.get(key, 0) + 1
        seen[key] = n
        if n > 1:
            row["play_key"] = f"{row['play_key']}#{n}"
        yield row
    if stats is not None:
        stats["skipped"] = stats.get("skipped", 0) + skipped
