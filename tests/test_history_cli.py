"""`spotkit history ...`, and the recorder surviving SIGKILL at random moments."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from history_helpers import log_in, sandbox_env

from spotkit.cli import main
from spotkit.history import HistoryLogger, read_history
from spotkit.sandbox import Sandbox

EXPORT = Path(__file__).parent / "data" / "export"


def spotkit_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "spotkit", "history", *args]


def test_import_export_and_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "h.sqlite3")
    # the folder: its extended history (the basic files repeat those plays, so they are skipped)
    assert main(["history", "import", "--db", db, str(EXPORT)]) == 0
    assert "8 new plays from 10 records in 2 file(s)" in capsys.readouterr().out
    # every file by name: the basic ones too
    assert main(["history", "import", "--db", db, *map(str, sorted(EXPORT.glob("*.json")))]) == 0
    assert "7 new plays" in capsys.readouterr().out

    assert main(["history", "export", "--db", db, "--out", str(tmp_path / "all.parquet")]) == 0
    assert "Wrote 15 plays" in capsys.readouterr().out
    assert main(["history", "export", "--db", db, "--out", str(tmp_path / "some.csv"),
                 "--since", "2023-12-01", "--until", "2024-01-01", "--basic"]) == 0
    with HistoryLogger(db) as h:
        pd.testing.assert_frame_equal(read_history(tmp_path / "all.parquet"),
                                      h.to_frame(extended=True))
        pd.testing.assert_frame_equal(read_history(tmp_path / "some.csv"),
                                      h.to_frame("2023-12-01", "2024-01-01"))

    assert main(["history", "info", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "15 plays" in out
    assert "export_basic: 7" in out


def test_errors_are_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.sqlite3"
    bad.write_text("not a database")
    assert main(["history", "export", "--db", str(bad), "--out", str(tmp_path / "x.csv")]) == 1
    assert "is not an SQLite file" in capsys.readouterr().err
    assert main(["history", "import", "--db", str(tmp_path / "h.sqlite3"),
                 str(tmp_path / "missing.json")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_sync_needs_a_login(spotkit_env: Sandbox, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "sync", "--db", str(tmp_path / "h.sqlite3")]) == 1
    assert "spotkit login" in capsys.readouterr().err


def test_sync(spotkit_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_in(spotkit_env, tmp_path / "tokens.json")
    db = str(tmp_path / "h.sqlite3")
    assert main(["history", "sync", "--db", db]) == 0
    assert capsys.readouterr().out.strip() == "+30 plays (total 30)"
    assert main(["history", "sync", "--db", db]) == 0
    assert capsys.readouterr().out.strip() == "+0 plays (total 30)"


def test_record_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with Sandbox(speed=500) as sb:
        env = sandbox_env(sb, tmp_path)
        db = tmp_path / "h.sqlite3"
        proc = subprocess.Popen(spotkit_cmd("record", "--db", str(db), "--interval", "0.2"),
                                env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 15
            while sb.counts().get("GET /v1/me/player/recently-played", 0) < 3:
                assert time.monotonic() < deadline, "the recorder never polled"
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
        assert proc.returncode == 0, err
        lines = out.splitlines()
        assert len(lines) >= 3
        assert all(re.fullmatch(r"\+\d+ plays? \(total \d+\)", line) for line in lines), out
        assert int(lines[-1].rsplit(" ", 1)[1].rstrip(")")) >= 30
        assert "Stopped." in err
        assert "Traceback" not in err


def test_record_survives_a_503_on_the_token_endpoint_at_its_first_sync(tmp_path: Path) -> None:
    with Sandbox(speed=500) as sb:
        env = sandbox_env(sb, tmp_path)
        sb.expire_access_tokens()  # the first sync needs a refresh...
        sb.queue_fault("/api/token", status=503, times=4)  # ...which fails, retries included
        db = tmp_path / "h.sqlite3"
        proc = subprocess.Popen(spotkit_cmd("record", "--db", str(db), "--interval", "0.3"),
                                env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while sb.counts().get("GET /v1/me/player/recently-played", 0) < 2:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the recorder never polled"
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=15)
        finally:
            proc.kill()
        assert sb.counts()["POST /api/token grant_type=refresh_token"] >= 5
    assert proc.returncode == 0, err
    assert "503" in err
    assert "retrying" in err
    assert "Traceback" not in err
    totals = [int(m) for m in re.findall(r"\(total (\d+)\)", out)]
    assert totals
    assert totals[-1] >= 30


@pytest.mark.slow
def test_sigkilled_recorders_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    """Recorders killed with SIGKILL at random moments, gaps with no recorder, many times."""
    seed = int(os.environ.get("SPOTKIT_TEST_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    note = f"(SPOTKIT_TEST_SEED={seed})"
    # ~190 plays an hour of sandbox time at 400x: a play every 0.7 s, a gap holds a few
    with Sandbox(speed=400, seed_history=30) as sb:
        env = sandbox_env(sb, tmp_path)
        db = tmp_path / "h.sqlite3"
        started = time.monotonic()
        for cycle in range(14):
            proc = subprocess.Popen(
                spotkit_cmd("record", "--db", str(db), "--interval", "0.3", "--quiet"),
                env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # the first run lives long enough to read the seeded plays; the others die anywhere:
            # while importing, mid-poll, mid-transaction, between polls
            time.sleep(rng.uniform(1.5, 2.0) if cycle == 0 else rng.uniform(0.05, 1.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if rng.random() < 0.4:
                time.sleep(rng.uniform(0.3, 2.0))  # nobody records (at most a few plays)
        sb.set_playing(None)  # playback stops: the sandbox's history is final
        # one last catch-up, as a restarted recorder would do first
        subprocess.run(spotkit_cmd("sync", "--db", str(db)), env=env, cwd=tmp_path, check=True,
                       capture_output=True, timeout=30)
        elapsed = time.monotonic() - started
        plays = sorted((p["played_at_ms"], p["uri"]) for p in sb.play_history()
                       if p["type"] == "track")
        requests = sb.requests("/v1/me/player/recently-played")

    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT played_at, item_uri, source FROM play_rows ORDER BY played_at").fetchall()
    cursor = int(conn.execute("SELECT value FROM meta").fetchone()[0])
    conn.close()
    stored = [(at, uri) for at, uri, _ in rows]
    assert len(plays) > 45, note  # plays did accumulate well past the seeded 30
    assert len(stored) == len(set(stored)), f"duplicates {note}"
    assert stored == plays, f"missing {sorted(set(plays) - set(stored))[:5]} {note}"
    assert {source for *_, source in rows} == {"recently_played"}
    assert cursor == plays[-1][0]
    # the `after` cursor in use: only requests before the first committed poll go without it
    afters = [r["query"].get("after") for r in requests]
    first_with = next(i for i, a in enumerate(afters) if a is not None)
    assert all(a is not None for a in afters[first_with:]), note
    assert [int(a) for a in afters[first_with:]] == sorted(int(a) for a in afters[first_with:])
    assert len(afters) - first_with > 10
    assert elapsed < 40, note


_KILL_INSIDE = """
import sys
from spotkit.cli import main
from spotkit.history.store import HistoryStore

real = HistoryStore._insert_chunk

def insert_then_wait(self, conn, chunk, on_chunk):
    added = real(self, conn, chunk, on_chunk)
    print("inside", added, flush=True)   # the rows are written, the transaction still open
    sys.stdin.readline()                 # wait for the kill (or, to finish, a line)
    return added

HistoryStore._insert_chunk = insert_then_wait
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_import_is_all_or_nothing(tmp_path: Path) -> None:
    """SIGKILL after the rows are written and before COMMIT: nothing of the file is stored.

    The child says when it is inside the transaction, so every kill lands there (a kill that
    came too early or too late would fail the handshake, not pass unnoticed).
    """
    records = [{"ts": f"2020-01-{1 + i // 86_400:02d}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:"
                      f"{i % 60:02d}Z",
                "spotify_track_uri": f"spotify:track:{i:022d}", "ms_played": i}
               for i in range(30_000)]
    export = tmp_path / "Streaming_History_Audio_2020_0.json"
    export.write_text(json.dumps(records))
    digest = hashlib.sha256(export.read_bytes()).hexdigest()
    db = tmp_path / "h.sqlite3"
    HistoryLogger(db).close()
    args = [sys.executable, "-c", _KILL_INSIDE, "history", "import", "--db", str(db), str(export)]
    for _ in range(3):
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        try:
            assert proc.stdout.readline().split() == ["inside", "30000"]
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
        with HistoryLogger(db) as h:
            assert len(h) == 0
            assert h.store.imported_file(digest) is None   # written first, rolled back too
            assert h.store.integrity_check() == ["ok"]
    done = subprocess.run(args, input="go\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with HistoryLogger(db) as h:
        assert len(h) == 30_000
        assert h.store.imported_file(digest) is not None
        assert h.import_export(export).added == 0
