"""The metadata cache: fresh items only, unknown items kept too, a foreign file never touched."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from spotkit.errors import MetadataError
from spotkit.metadata.cache import MetadataCache, default_metadata_path


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_items_are_fresh_for_max_age(tmp_path: Path) -> None:
    clock = Clock()
    with MetadataCache(tmp_path / "m.sqlite3", clock=clock) as cache:
        cache.put("track", "a", {"id": "a", "available_markets": ["SE"] * 100,
                                 "album": {"id": "x", "available_markets": ["SE"]}})
        cache.put("track", "gone", None)   # Spotify knows no such track: kept as well
        assert cache.lookup("track", ["a", "gone", "b", "a"]) == {
            "a": {"id": "a", "album": {"id": "x"}}, "gone": None}
        assert cache.missing("track", ["b", "a", "gone", "b"]) == ["b"]
        assert cache.lookup("album", ["a"]) == {}   # kinds are apart
        clock.now += timedelta(days=30).total_seconds() + 1
        assert cache.missing("track", ["a", "gone"]) == ["a", "gone"]
        cache.put("track", "a", {"id": "a", "name": "new"})
        assert cache.lookup("track", ["a"]) == {"a": {"id": "a", "name": "new"}}
        assert cache.count() == 2
        assert cache.count("track") == 2
        assert cache.count("artist") == 0
    with MetadataCache(tmp_path / "m.sqlite3", max_age=60, clock=clock) as cache:
        assert cache.missing("track", ["a", "gone"]) == ["gone"]


def test_many_ids_at_once(tmp_path: Path) -> None:
    with MetadataCache(tmp_path / "m.sqlite3") as cache:
        for i in range(0, 1200, 3):
            cache.put("artist", f"id{i}", {"genres": []})
        ids = [f"id{i}" for i in range(1200)]
        assert len(cache.lookup("artist", ids)) == 400
        assert len(cache.missing("artist", ids)) == 800


def test_an_unreadable_body_is_fetched_again(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    with MetadataCache(path) as cache:
        cache.put("album", "a", {"id": "a"})
    conn = sqlite3.connect(path)
    conn.execute("UPDATE items SET body = '{\"id\": ' WHERE id = 'a'")
    conn.commit()
    conn.close()
    with MetadataCache(path) as cache:
        assert cache.missing("album", ["a"]) == ["a"]


def test_meta_values(tmp_path: Path) -> None:
    with MetadataCache(tmp_path / "m.sqlite3") as cache:
        assert cache.get_meta("pacing.budget") is None
        cache.set_meta("pacing.budget", "90,1")
        cache.set_meta("pacing.budget", "80,2")
        assert cache.get_meta("pacing.budget") == "80,2"


def test_bad_kind_and_max_age(tmp_path: Path) -> None:
    with MetadataCache(tmp_path / "m.sqlite3") as cache:
        with pytest.raises(ValueError, match="kind"):
            cache.put("playlist", "x", {})
        with pytest.raises(ValueError, match="kind"):
            cache.lookup("tracks", ["x"])
    with pytest.raises(ValueError, match="max_age"):
        MetadataCache(tmp_path / "n.sqlite3", max_age=-1)


def test_a_foreign_database_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(MetadataError, match="other program"):
        MetadataCache(path)
    assert path.read_bytes() == before
    text = tmp_path / "notes.txt"
    text.write_text("not a database")
    with pytest.raises(MetadataError, match="not an SQLite file"):
        MetadataCache(text)
    assert text.read_text() == "not a database"


def test_default_path_is_in_the_data_folder(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    import spotkit.config

    monkeypatch.setattr(spotkit.config, "default_data_dir", lambda: tmp_path / "data")
    assert default_metadata_path() == tmp_path / "data" / "metadata.sqlite3"
