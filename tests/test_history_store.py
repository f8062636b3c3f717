"""The SQLite store: schema, dedup key, cursor, atomicity, locked / damaged / foreign / newer files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from spotkit._values import from_ms, to_ms
from spotkit.errors import HistoryError
from spotkit.history.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    STORE_COLUMNS,
    HistoryStore,
)


def row(played_at: int, uri: str = "spotify:track:a", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"played_at": played_at, "play_key": uri, "item_type": "track",
                            "item_uri": uri, "name": "Song", "source": "recently_played"}
    return base | extra


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sub" / "history.sqlite3"


def test_new_file_has_schema_wal_and_version(db: Path) -> None:
    with HistoryStore(db) as store:
        assert store.count() == 0
        assert store.cursor() is None
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    columns = [r[1] for r in conn.execute("PRAGMA table_info(play_rows)")]
    assert columns == [*STORE_COLUMNS, "recorded_at"]
    conn.close()


def test_reopening_keeps_rows(db: Path) -> None:
    with HistoryStore(db) as store:
        store.add_plays([row(1000)], cursor=1000)
    with HistoryStore(db) as store:
        assert store.count() == 1
        assert store.cursor() == 1000


def test_same_play_twice_is_stored_once(db: Path) -> None:
    with HistoryStore(db) as store:
        assert len(store.add_plays([row(1000), row(2000)])) == 2
        new = store.add_plays([row(1000), row(2000), row(3000)])
        assert [r["played_at"] for r in new] == [3000]
        assert store.add_many([row(1000), row(4000)]) == 1
        assert store.count() == 4
        # the same time, another item: a different play
        assert len(store.add_plays([row(1000, "spotify:track:b")])) == 1


def test_cursor_only_moves_forward(db: Path) -> None:
    with HistoryStore(db) as store:
        store.add_plays([], cursor=5000)
        store.add_plays([], cursor=4000)
        assert store.cursor() == 5000
        store.add_plays([], cursor=10_000_000_000_000)
        assert store.cursor() == 10_000_000_000_000


def test_a_failing_batch_commits_neither_rows_nor_cursor(db: Path) -> None:
    with HistoryStore(db) as store:
        store.add_plays([row(1000)], cursor=1000)
        bad = row(3000) | {"source": None}  # NOT NULL: fails after row(2000) went in
        with pytest.raises(HistoryError, match="Could not write"):
            store.add_plays([row(2000), bad], cursor=3000)
        assert store.count() == 1
        assert store.cursor() == 1000


def test_fetch_range_and_order(db: Path) -> None:
    with HistoryStore(db) as store:
        store.add_many([row(t) for t in (5000, 1000, 3000)])
        assert [r[0] for r in store.fetch(["played_at"])] == [1000, 3000, 5000]
        assert [r[0] for r in store.fetch(["played_at"], since=1000, until=5000)] == [1000, 3000]
        with pytest.raises(ValueError, match="unknown history columns"):
            store.fetch(["played_at; DROP TABLE plays"])


def test_add_unless_near(db: Path) -> None:
    with HistoryStore(db) as store:
        assert store.add_unless_near(row(100_000, "spotify:episode:e"), 5000)
        assert not store.add_unless_near(row(104_000, "spotify:episode:e"), 5000)
        assert store.add_unless_near(row(104_000, "spotify:episode:f"), 5000)
        assert store.add_unless_near(row(200_000, "spotify:episode:e"), 5000)
        assert store.count() == 3


def test_summary(db: Path) -> None:
    with HistoryStore(db) as store:
        store.add_many([row(1000), row(2000, source="export_basic")])
        assert store.summary() == {"plays": 2, "first": 1000, "last": 2000,
                                   "sources": {"export_basic": 1, "recently_played": 1}}
        assert store.count("export_basic") == 1


def test_locked_database_is_a_clear_error(db: Path) -> None:
    with HistoryStore(db) as store:
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process is writing
        try:
            slow = HistoryStore(db, timeout=0.2)
            with pytest.raises(HistoryError, match="is locked by another process") as info:
                slow.add_plays([row(1000)], cursor=1000)
            assert str(db) in str(info.value)
            slow.close()
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert store.add_plays([row(1000)], cursor=1000)  # and fine once it is free


def test_reading_is_not_blocked_by_a_writer(db: Path) -> None:
    with HistoryStore(db) as store:
        store.add_plays([row(1000)])
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("DELETE FROM plays")
        try:
            assert store.count() == 1  # WAL: readers see the last commit
        finally:
            other.execute("ROLLBACK")
            other.close()


def test_not_a_database_is_refused_and_left_alone(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"these are my notes, not a database\n" * 100)
    before = db.read_bytes()
    with pytest.raises(HistoryError, match="not an SQLite file"):
        HistoryStore(db)
    assert db.read_bytes() == before
    assert not db.with_name(db.name + "-wal").exists()


def test_damaged_database_is_a_clear_error(db: Path) -> None:
    with HistoryStore(db) as store:
        store.add_many([row(i * 1000, f"spotify:track:{i:022d}") for i in range(2000)])
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(db.read_bytes())
    for offset in range(4096 * 2, len(data), 4096):  # trash every page after the first two
        data[offset:offset + 64] = b"\xff" * 64
    db.write_bytes(bytes(data))
    before = db.read_bytes()

    def open_and_read() -> None:
        with HistoryStore(db) as store:
            store.fetch()

    with pytest.raises(HistoryError, match="is damaged") as info:
        open_and_read()
    assert str(db) in str(info.value)
    assert db.read_bytes() == before


def test_a_newer_schema_is_refused(db: Path) -> None:
    HistoryStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError, match="newer spotkit"):
        HistoryStore(db)


def test_another_programs_database_is_refused(db: Path) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="some other program"):
        HistoryStore(db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with pytest.raises(HistoryError, match="some other program"):
        HistoryStore(db)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="is a folder"):
        HistoryStore(tmp_path)


def test_threads_share_a_store(db: Path) -> None:
    with HistoryStore(db) as store:
        def write(k: int) -> None:
            for i in range(50):
                store.add_plays([row(k * 1000 + i)], cursor=k * 1000 + i)

        threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.count() == 200
        assert store.cursor() == 3049
        assert store.integrity_check() == ["ok"]


def test_ms_conversions_are_exact() -> None:
    for value in (0, 1, 1_700_000_000_123, 1_795_828_543_309):
        assert to_ms(from_ms(value)) == value
    assert from_ms(1000).tzinfo is not None


def test_a_batch_over_stored_plays_adds_only_the_new_ones(db: Path) -> None:
    with HistoryStore(db) as store:
        assert store.add_many([row(1000), row(3000)]) == 2
        batch = [row(1000), row(2000), row(3000), row(3000, "spotify:track:b"), row(4000)]
        assert store.add_many(batch) == 3
        assert store.add_many(batch) == 0
        assert [r[:2] for r in store.fetch(["played_at", "play_key"])] == [
            (1000, "spotify:track:a"), (2000, "spotify:track:a"), (3000, "spotify:track:a"),
            (3000, "spotify:track:b"), (4000, "spotify:track:a")]
        with pytest.raises(HistoryError, match="between the years 1677 and 2262"):
            store.add_batch([(10**13, "k", ("track",) + (None,) * 6, ("x",) + (None,) * 10, None)])
        assert store.count() == 5


def test_a_large_batch_counts_exactly_what_it_adds(db: Path) -> None:
    # hundreds of plays: the many-plays-per-statement inserts, their remainder, repeats in one batch
    with HistoryStore(db) as store:
        batch = [row(t, f"spotify:track:{t % 7}") for t in range(0, 250_000, 1000)]
        assert store.add_many(batch[:30]) == 30
        batch += batch[100:157]   # the same plays again in the same batch are stored once
        assert store.add_many(batch, chunk_size=130) == 220
        assert store.count() == 250
        assert store.add_many(batch) == 0
