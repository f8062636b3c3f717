"""Opening a store: verify read-only before any write, WAL, one-transaction migrations, clear errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fakes import pragma

from spotkit.errors import SpotkitError
from spotkit.sqlitestore import SQLiteStore, StoreSpec


class NotesError(SpotkitError):
    pass


def create_notes(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")


def add_stars(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE notes ADD COLUMN stars INTEGER NOT NULL DEFAULT 0")
    conn.execute("UPDATE notes SET stars = length(text)")


V1 = StoreSpec(name="notes store", error=NotesError, application_id=0x4E4F5445, version=1,
               migrations={1: create_notes})
V2 = StoreSpec(name="notes store", error=NotesError, application_id=0x4E4F5445, version=2,
               migrations={1: create_notes, 2: add_stars})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sub" / "notes.sqlite3"


def files(path: Path) -> dict[str, bytes]:
    """Every file of the database (main, -wal, -shm) and its bytes."""
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir())}


def make_v1(db: Path, texts: tuple[str, ...] = ("a", "bb")) -> None:
    with SQLiteStore(db, V1) as store, store.transaction() as conn:
        conn.executemany("INSERT INTO notes (text) VALUES (?)", [(t,) for t in texts])


def test_a_new_file_is_created_in_wal_with_id_and_version(db: Path) -> None:
    with SQLiteStore(db, V1) as store:
        with store.reading() as conn:
            assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
        assert store.integrity_check() == ["ok"]
    assert pragma(db, "journal_mode") == "wal"
    assert pragma(db, "user_version") == 1
    assert pragma(db, "application_id") == 0x4E4F5445


def test_transactions_commit_or_roll_back(db: Path) -> None:
    make_v1(db)
    with SQLiteStore(db, V1) as store:
        def half_then_null() -> None:
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES ('c')")
                conn.execute("INSERT INTO notes (text) VALUES (NULL)")

        def half_then_raise() -> None:
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES ('d')")
                raise KeyError("not sqlite's")

        with pytest.raises(NotesError, match="Could not write to the notes store"):
            half_then_null()
        with pytest.raises(KeyError):
            half_then_raise()
        with store.reading() as conn:
            assert [r[0] for r in conn.execute("SELECT text FROM notes")] == ["a", "bb"]
            assert not conn.in_transaction


def test_an_older_file_is_migrated_in_place_keeping_its_rows(db: Path) -> None:
    make_v1(db)
    with SQLiteStore(db, V2) as store, store.reading() as conn:
        assert conn.execute("SELECT text, stars FROM notes ORDER BY id").fetchall() == [
            ("a", 1), ("bb", 2)]
    assert pragma(db, "user_version") == 2


def test_a_failing_migration_leaves_the_old_version_intact(db: Path) -> None:
    make_v1(db)
    before = files(db)

    def half_then_fail(conn: sqlite3.Connection) -> None:
        add_stars(conn)   # a real change, then a failure
        raise sqlite3.OperationalError("disk I/O error")

    broken = StoreSpec(name="notes store", error=NotesError, application_id=0x4E4F5445, version=2,
                       migrations={1: create_notes, 2: half_then_fail})
    with pytest.raises(NotesError, match="Could not upgrade the notes store") as info:
        SQLiteStore(db, broken)
    assert "untouched" not in str(info.value)
    assert pragma(db, "user_version") == 1
    conn = sqlite3.connect(db)
    assert [r[1] for r in conn.execute("PRAGMA table_info(notes)")] == ["id", "text"]
    assert conn.execute("SELECT text FROM notes ORDER BY id").fetchall() == [("a",), ("bb",)]
    conn.close()
    assert files(db)["notes.sqlite3"] == before["notes.sqlite3"]


def test_a_newer_schema_is_refused_and_not_touched(db: Path) -> None:
    make_v1(db)
    with SQLiteStore(db, V2):
        pass
    before = files(db)
    with pytest.raises(NotesError, match=r"newer spotkit \(schema version 2, this one knows up to 1\)"):
        SQLiteStore(db, V1)
    assert files(db) == before


@pytest.mark.parametrize("pragmas", [(), ("user_version = 1",), ("application_id = 1",),
                                     ("application_id = 1", "user_version = 1"),
                                     ("application_id = 0x4E4F5445",)])
def test_another_programs_database_is_refused_and_not_touched(db: Path,
                                                              pragmas: tuple[str, ...]) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE mine (x)")
    for pragma_ in pragmas:
        conn.execute(f"PRAGMA {pragma_}")
    conn.commit()
    conn.close()
    before = files(db)
    with pytest.raises(NotesError, match=r"some other program.*left it untouched"):
        SQLiteStore(db, V1)
    assert files(db) == before   # not even switched to WAL


def test_a_store_of_another_kind_is_refused(db: Path) -> None:
    make_v1(db)
    other = StoreSpec(name="x", error=NotesError, application_id=7, version=1,
                      migrations={1: create_notes})
    with pytest.raises(NotesError, match="some other program"):
        SQLiteStore(db, other)


def test_not_sqlite_and_folders_are_refused(db: Path, tmp_path: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"my notes, not a database\n" * 100)
    before = files(db)
    with pytest.raises(NotesError, match=r"not an SQLite file.*left it untouched"):
        SQLiteStore(db, V1)
    assert files(db) == before
    with pytest.raises(NotesError, match="is a folder"):
        SQLiteStore(tmp_path, V1)
    with pytest.raises(NotesError, match="Cannot create the folder"):
        SQLiteStore(db / "inside-a-file.sqlite3", V1)


def test_a_damaged_file_is_found_before_any_write(db: Path) -> None:
    with SQLiteStore(db, V1) as store, store.transaction() as conn:
        conn.executemany("INSERT INTO notes (text) VALUES (?)", [("x" * 200,)] * 2000)
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for offset in range(page * 2, len(data), page):   # trash every page after the first two
        data[offset:offset + 64] = b"\xff" * 64
    db.write_bytes(bytes(data))
    before = files(db)
    with pytest.raises(NotesError, match=r"is damaged.*spotkit left it untouched") as info:
        SQLiteStore(db, V1)
    assert str(db) in str(info.value)
    assert files(db) == before


def test_damage_seen_after_a_write_is_never_called_untouched(db: Path) -> None:
    malformed = sqlite3.DatabaseError("database disk image is malformed")
    with SQLiteStore(db, V1) as store:   # creating the file is a write
        assert store.written
        assert "untouched" not in str(store.error(malformed, "read"))
    make_v1(db)
    with SQLiteStore(db, V1) as store:
        assert not store.written   # an existing WAL file, only read so far
        assert "left it untouched" in str(store.error(malformed, "read"))
        with store.transaction():
            pass
        message = str(store.error(malformed, "read"))
        assert "untouched" not in message
        assert "Stop writing to it" in message


def test_a_locked_file_says_who_to_stop(db: Path) -> None:
    make_v1(db)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with SQLiteStore(db, V1, timeout=0.1) as store, \
                pytest.raises(NotesError, match=r"is locked by another process.*Nothing was written"), \
                store.transaction() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('c')")
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_spec_needs_every_migration() -> None:
    with pytest.raises(ValueError, match=r"no migration to schema version\(s\) \[2\]"):
        StoreSpec(name="x", error=NotesError, application_id=1, version=2,
                  migrations={1: create_notes})


def test_a_closed_store_says_so(db: Path) -> None:
    store = SQLiteStore(db, V1)
    store.close()
    with pytest.raises(NotesError, match="was closed"), store.reading() as conn:
        conn.execute("SELECT 1")


def test_text_sqlite_cannot_encode_is_a_typed_error_and_rolls_back(db: Path) -> None:
    make_v1(db)
    with SQLiteStore(db, V1) as store:
        def lone_surrogate() -> None:
            with store.transaction() as conn:
                conn.execute("INSERT INTO notes (text) VALUES ('fine')")
                conn.execute("INSERT INTO notes (text) VALUES (?)", ("\ud800",))

        with pytest.raises(NotesError, match="a text value is not valid Unicode"):
            lone_surrogate()
        with store.reading() as conn:
            assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 2
