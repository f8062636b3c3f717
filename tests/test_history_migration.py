"""Upgrading a schema-version-1 history (checked in, built by the version-1 store) to version 2."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import pragma

from spotkit.errors import HistoryError
from spotkit.history import HistoryLogger
from spotkit.history.store import SCHEMA_VERSION, STORE_COLUMNS

DATA = Path(__file__).parent / "data"
V1 = DATA / "history" / "history-v1.sqlite3"
EXPORT = DATA / "export"
ALL = ", ".join([*STORE_COLUMNS, "recorded_at"])


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {ALL} FROM {table} ORDER BY played_at, play_key").fetchall()
    finally:
        conn.close()


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(V1, path)
    return path


def test_the_fixture_is_version_1(v1: Path) -> None:   # a copy: the checked-in file is never opened
    assert pragma(v1, "user_version") == 1
    assert len(rows(v1, "plays")) == 27


def test_upgrade_keeps_every_play_and_every_field(v1: Path) -> None:
    before = rows(v1, "plays")
    with HistoryLogger(v1) as history:
        assert len(history) == len(before)
        assert history.store.cursor() == 1772366640000
        assert history.store.integrity_check() == ["ok"]
    assert pragma(v1, "user_version") == SCHEMA_VERSION == 2
    assert pragma(v1, "freelist_count") == 0   # the old table's pages given back
    after = rows(v1, "play_rows")
    assert after == before   # values and their types, NULLs, #2 keys, recorded_at
    assert [tuple(map(type, r)) for r in after] == [tuple(map(type, r)) for r in before]


def test_an_upgraded_history_dedups_and_frames_like_before(v1: Path) -> None:
    with HistoryLogger(v1) as history:
        result = history.import_export(sorted(EXPORT.glob("*.json")))
        assert result.added == 0   # the play keys survived: nothing is imported twice
        frame = history.to_frame(extended=True)
        assert len(frame) == 27
        assert set(frame["source"]) == {"export_basic", "export_extended", "recently_played",
                                        "now_playing"}
        big = frame[frame["ms_played"] == 2**40]
        assert list(big["name"]) == ["Ünïcødé ✓"]
        assert list(big["platform"]) == ["web player"]


_CRASH = """
import os, signal, sys
from spotkit.history import store

real = store.MIGRATIONS[2]

def crash(conn):
    real(conn)                            # every write of the upgrade done...
    os.kill(os.getpid(), signal.SIGKILL)  # ...and the process dies before COMMIT

store.MIGRATIONS[2] = crash
store.HistoryStore(sys.argv[1])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_crash_during_the_upgrade_leaves_version_1_intact(v1: Path) -> None:
    before = rows(v1, "plays")
    proc = subprocess.run([sys.executable, "-c", _CRASH, str(v1)], capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    assert pragma(v1, "user_version") == 1
    assert rows(v1, "plays") == before
    assert pragma(v1, "integrity_check") == "ok"
    with HistoryLogger(v1) as history:   # and the next open upgrades it
        assert len(history) == len(before)
    assert rows(v1, "play_rows") == before


def test_a_newer_schema_is_still_refused(v1: Path) -> None:
    HistoryLogger(v1).close()
    conn = sqlite3.connect(v1)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = v1.read_bytes()
    with pytest.raises(HistoryError, match="newer spotkit"):
        HistoryLogger(v1)
    assert v1.read_bytes() == before
