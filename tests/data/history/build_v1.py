"""Builds ``history-v1.sqlite3``: a schema-version-1 history written by spotkit's version-1 store.

Kept to show how the fixture was made; it only works with spotkit at commit 1b08a18 (the last
version-1 store), where it was run as ``python tests/data/history/build_v1.py``. The file holds every
kind of row that store could hold: both export formats (with same-second repeats numbered ``#2``),
recently-played plays with their cursor, a now-playing episode, a play without a URI, NULLs and
text in every extended field.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE.parent.parent.parent)]

from history_helpers import play_item  # noqa: E402

from spotkit.history import HistoryLogger  # noqa: E402
from spotkit.records import history_record  # noqa: E402

TARGET = HERE / "history-v1.sqlite3"


def main() -> None:
    TARGET.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp, HistoryLogger(TARGET) as history:
        odd = Path(tmp) / "Streaming_History_Audio_2025_9.json"
        odd.write_text(json.dumps([
            {"ts": "2025-01-02T03:04:05Z", "spotify_track_uri": "spotify:track:0bbbbbbbbbbbbbbbbbbbbb",
             "master_metadata_track_name": "Ünïcødé ✓", "master_metadata_album_artist_name": "A, B",
             "master_metadata_album_album_name": "", "ms_played": 2**40, "skipped": None,
             "shuffle": True, "offline": True, "incognito_mode": True, "platform": "web player",
             "conn_country": "ZZ", "reason_start": "clickrow", "reason_end": None},
            {"ts": "2025-01-02T03:04:05Z", "spotify_track_uri": "spotify:track:0bbbbbbbbbbbbbbbbbbbbb",
             "master_metadata_track_name": "Ünïcødé ✓", "ms_played": 0},
            {"ts": "2025-01-02T03:04:05Z", "spotify_track_uri": "spotify:track:0bbbbbbbbbbbbbbbbbbbbb",
             "master_metadata_track_name": "Ünïcødé ✓", "ms_played": 1},
            {"ts": "2025-01-03T00:00:00Z", "master_metadata_track_name": "Local file",
             "master_metadata_album_artist_name": "Me"},
            {"ts": "2025-01-04T00:00:00Z", "audiobook_chapter_uri": "spotify:chapter:0ccccccccccccccccccccc",
             "audiobook_chapter_title": "Chapter 1", "audiobook_title": "A Book", "ms_played": 5},
            {"ts": "not a time"},
        ]))
        print(history.import_export([*sorted((HERE.parent / "export").glob("*.json")), odd],
                                    progress=False))
        t = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
        records = [history_record(play_item(f"spotify:track:1{i:021d}", t.replace(minute=i),
                                            name=f"Song {i}", artists=("A", "B")))
                   for i in range(5)]
        from spotkit.history.logger import _row
        rows = [_row(r) for r in records]
        history.store.add_plays([r for r in rows if r], cursor=max(r["played_at"] for r in rows if r))
        no_uri = dict(rows[0] or {}) | {"played_at": rows[0]["played_at"] + 1, "item_uri": None,  # type: ignore[index]
                                        "item_id": None, "play_key": "recently_played:Me:Local",
                                        "name": "Local", "artists": "Me"}
        history.store.add_plays([no_uri])
        history.store.add_unless_near({
            "played_at": 1_772_400_000_000, "play_key": "spotify:episode:0ddddddddddddddddddddd",
            "item_type": "episode", "item_id": "0ddddddddddddddddddddd",
            "item_uri": "spotify:episode:0ddddddddddddddddddddd", "name": "An episode",
            "album": "A show", "duration_ms": 1_800_000, "context_type": None, "context_uri": None,
            "source": "now_playing"}, 600_000)
        print(len(history), "plays")
    conn = sqlite3.connect(TARGET)
    print(conn.execute("PRAGMA user_version").fetchone(), conn.execute("PRAGMA journal_mode").fetchone())
    conn.close()


if __name__ == "__main__":
    main()
