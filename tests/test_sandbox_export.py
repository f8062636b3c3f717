"""The sandbox's synthetic data export: Spotify's two file formats, deterministic, plausible."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from spotkit.sandbox.export import write_data_export

END = datetime(2026, 6, 1, tzinfo=timezone.utc)
EXTENDED_KEYS = {
    "ts", "platform", "ms_played", "conn_country", "master_metadata_track_name",
    "master_metadata_album_artist_name", "master_metadata_album_album_name", "spotify_track_uri",
    "episode_name", "episode_show_name", "spotify_episode_uri", "reason_start", "reason_end",
    "shuffle", "skipped", "offline", "incognito_mode",
}


def _load(files: list[Path], pattern: str) -> list[dict[str, object]]:
    return [row for f in files if f.match(pattern) for row in json.loads(f.read_text("utf-8"))]


def test_writes_both_formats_deterministically(tmp_path: Path) -> None:
    a = write_data_export(tmp_path / "a", years=1.5, seed=7, end=END)
    b = write_data_export(tmp_path / "b", years=1.5, seed=7, end=END)
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    assert any(p.parent.name == "Spotify Extended Streaming History" for p in a)
    assert any(p.name == "StreamingHistory_music_0.json" for p in a)


def test_extended_rows_look_like_spotifys(tmp_path: Path) -> None:
    files = write_data_export(tmp_path, years=1, seed=1, end=END)
    rows = _load(files, "Streaming_History_Audio_*.json")
    assert len(rows) > 3000  # about a year of listening
    assert all(row.keys() >= EXTENDED_KEYS for row in rows)
    stamps = [str(r["ts"]) for r in rows]
    assert stamps == sorted(stamps)
    assert stamps[0] >= "2025-06-01"
    assert stamps[-1] < "2026-06-01T00:00:00Z"
    tracks = [r for r in rows if r["spotify_track_uri"]]
    episodes = [r for r in rows if r["spotify_episode_uri"]]
    assert tracks
    assert episodes
    assert len(tracks) + len(episodes) == len(rows)
    assert any(r["skipped"] for r in tracks)
    assert not all(r["skipped"] for r in tracks)
    assert all(str(r["spotify_track_uri"]).startswith("spotify:track:") for r in tracks)
    assert all(r["master_metadata_track_name"] is None for r in episodes)


def test_basic_export_covers_the_last_year_of_music(tmp_path: Path) -> None:
    files = write_data_export(tmp_path, years=2, seed=3, end=END)
    basic = _load(files, "StreamingHistory_music_*.json")
    assert basic
    assert set(basic[0]) == {"endTime", "artistName", "trackName", "msPlayed"}
    assert min(str(r["endTime"]) for r in basic) >= "2025-06-01 00:00"
    assert all(len(str(r["endTime"])) == 16 for r in basic)  # "YYYY-MM-DD HH:MM"
