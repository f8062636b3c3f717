"""HistoryLogger: catch-up polls with the `after` cursor, the background thread, episodes."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from history_helpers import T0, FakeClient, log_in, ms

from spotkit._values import to_ms
from spotkit.errors import HistoryError, NetworkError, RateLimited, ServerError
from spotkit.frames import empty_frame
from spotkit.history import HistoryLogger, default_history_path
from spotkit.sandbox import Sandbox

EP = "spotify:episode:e0000000000000000000001"


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def history(tmp_path: Path, client: FakeClient) -> Iterator[HistoryLogger]:
    with HistoryLogger(tmp_path / "h.sqlite3", client,
                       interval=0.05) as h:
        yield h


def keys(h: HistoryLogger) -> list[tuple[int, str]]:
    return [(r[0], r[1]) for r in h.store.fetch(["played_at", "item_uri"])]


def expected(client: FakeClient) -> list[tuple[int, str]]:
    return [(ms(t), uri) for t, uri in client.plays]


def test_default_path_is_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setattr("spotkit.config.default_data_dir", lambda: tmp_path / "data")
    assert default_history_path() == tmp_path / "data" / "history.sqlite3"
    with HistoryLogger() as h:
        assert h.path == tmp_path / "data" / "history.sqlite3"
        assert h.path.exists()


def test_first_sync_reads_the_last_50_then_only_what_is_new(history: HistoryLogger,
                                                            client: FakeClient) -> None:
    client.play(70)
    new = history.sync()
    assert len(new) == 50
    assert client.afters == [None]
    assert [r["played_at"] for r in new] == sorted(r["played_at"] for r in new)
    assert new[-1]["item_uri"] == client.plays[-1][1]
    assert history.store.cursor() == ms(client.plays[-1][0])

    assert history.sync() == []
    client.play(3)
    new = history.sync()
    assert [r["item_uri"] for r in new] == [uri for _, uri in client.plays[-3:]]
    assert client.afters[1:] == [ms(client.plays[-4][0])] * 2
    assert client.calls == 3  # one call per poll
    assert keys(history) == expected(client)[-53:]


def test_sync_returns_history_records(history: HistoryLogger, client: FakeClient) -> None:
    client.play(2)
    new = history.sync()
    assert set(new[0]) == {"played_at", "item_type", "item_id", "item_uri", "name", "artists",
                           "album", "duration_ms", "context_type", "context_uri", "source"}
    assert new[0]["played_at"] == T0
    assert new[0]["source"] == "recently_played"


def test_plays_while_the_logger_was_down_are_recovered(history: HistoryLogger,
                                                       client: FakeClient) -> None:
    client.play(5)
    history.sync()
    client.play(45)  # nobody polled: still within the last 50
    history.sync()
    assert keys(history) == expected(client)
    assert history.missed_warnings == 0


def test_a_full_page_warns_and_reads_on(history: HistoryLogger, client: FakeClient,
                                        caplog: pytest.LogCaptureFixture) -> None:
    client.reachable = 200  # a server that lets us page forward, like the sandbox
    client.play(1)
    history.sync()
    client.play(120)
    with caplog.at_level(logging.WARNING, logger="spotkit"):
        new = history.sync()
    assert len(new) == 120
    assert keys(history) == expected(client)
    assert "some may be missing" in caplog.text
    assert history.missed_warnings >= 1
    assert client.afters[1:] == [ms(client.plays[i][0]) for i in (0, 50, 100)]


def test_a_full_page_from_spotify_warns_of_lost_plays(history: HistoryLogger,
                                                      client: FakeClient,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    client.play(1)
    history.sync()
    client.play(80)  # 30 of them are gone for good
    with caplog.at_level(logging.WARNING, logger="spotkit"):
        history.sync()
    assert "some may be missing" in caplog.text
    assert keys(history) == expected(client)[:1] + expected(client)[-50:]


def test_rereading_a_page_never_duplicates(history: HistoryLogger, client: FakeClient,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    client.play(10)
    history.sync()
    # a server that ignores `after`: the same 10 plays again
    monkeypatch.setattr(history.store, "cursor", lambda: None)
    assert history.sync() == []
    assert len(history) == 10


def test_a_failed_poll_stores_nothing_and_keeps_the_cursor(history: HistoryLogger,
                                                           client: FakeClient) -> None:
    client.play(3)
    history.sync()
    cursor = history.store.cursor()
    client.play(2)
    client.errors.append(ServerError(502, "Bad gateway"))
    with pytest.raises(ServerError):
        history.sync()
    assert history.store.cursor() == cursor
    assert len(history.sync()) == 2


def test_to_frame_dtypes(history: HistoryLogger, client: FakeClient) -> None:
    client.play(4)
    history.sync()
    frame = history.to_frame()
    reference = empty_frame("history")
    assert [str(t) for t in frame.dtypes] == [
        "category" if t == "string" else str(t) for t in reference.dtypes]
    assert frame["played_at"].iloc[0] == pd.Timestamp(T0)
    assert list(frame["item_uri"]) == [uri for _, uri in client.plays]
    assert len(history.to_frame(since=T0 + timedelta(minutes=4))) == 2


# --- the background thread ---------------------------------------------------------------------


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_start_polls_in_the_background_and_stop_ends_it(history: HistoryLogger,
                                                        client: FakeClient) -> None:
    client.play(5)
    seen: list[int] = []
    history.on_sync = lambda new: seen.append(len(new))
    assert history.start() is history
    assert history.start() is history  # twice is harmless
    assert history.running
    assert "running" in history.status
    wait_for(lambda: len(seen) >= 1)
    client.play(2)
    wait_for(lambda: len(history) == 7)
    history.stop()
    assert not history.running
    assert history.status == "stopped"
    calls = client.calls
    time.sleep(0.2)
    assert client.calls == calls
    assert seen[0] == 5
    assert not any(t.name.startswith("spotkit-history") for t in threading.enumerate())


def test_the_thread_backs_off_and_survives_errors(history: HistoryLogger,
                                                  client: FakeClient) -> None:
    client.play(3)
    errors: list[tuple[str, float]] = []
    history.on_error = lambda exc, delay: errors.append((type(exc).__name__, delay))
    client.errors = [RateLimited(429, "slow down", retry_after=0.3), NetworkError("down"),
                     ValueError("a bug somewhere")]
    started = time.monotonic()
    history.start()
    wait_for(lambda: len(history) == 3)
    took = time.monotonic() - started
    history.stop()
    assert [name for name, _ in errors] == ["RateLimited", "NetworkError", "ValueError"]
    assert errors[0][1] >= 0.3  # Retry-After honoured
    assert took >= 0.3
    assert history.last_error is None  # cleared by the successful poll


def test_status_shows_the_error_while_retrying(history: HistoryLogger,
                                               client: FakeClient) -> None:
    history.interval = 30.0
    client.errors = [ServerError(503, "Service unavailable")]
    history.start()
    wait_for(lambda: history.last_error is not None)
    assert "retrying after ServerError" in history.status
    assert "next poll in" in history.status
    history.stop()


def test_backoff_grows_with_jitter_and_honours_retry_after(history: HistoryLogger) -> None:
    history.interval = 1500.0
    delays = [history._backoff(ServerError(500, "x"), n) for n in range(1, 10)]
    assert 15 <= delays[0] <= 30
    assert all(d <= 1500 for d in delays)
    assert delays[-1] >= 750
    assert history._backoff(RateLimited(429, "x", retry_after=3600), 1) == 3600


def test_one_recorder_per_database(tmp_path: Path, client: FakeClient) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryLogger(path, client, interval=60) as a, \
            HistoryLogger(path, client, interval=60) as b:
        a.start()
        with pytest.raises(HistoryError, match="Another recorder is already running"):
            b.start()
        a.stop()
        b.start()
        assert b.running


def test_close_stops_the_thread(tmp_path: Path, client: FakeClient) -> None:
    h = HistoryLogger(tmp_path / "h.sqlite3", client, interval=0.05)
    h.start()
    h.close()
    assert not h.running


# --- episodes ------------------------------------------------------------------------------------


def np_record(uri: str | None, at_min: float, progress_min: float, kind: str = "episode",
              playing: bool = True) -> dict[str, Any] | None:
    if uri is None:
        return None
    return {"fetched_at": T0 + timedelta(minutes=at_min), "is_playing": playing,
            "item_type": kind, "item_id": uri.rsplit(":", 1)[-1], "item_uri": uri,
            "name": "Ep", "artists": "Pub", "album": "Show", "duration_ms": 45 * 60_000,
            "progress_ms": int(progress_min * 60_000), "context_type": None,
            "context_uri": None}


def test_record_now_playing_stores_finished_episodes_once(history: HistoryLogger) -> None:
    assert history.record_now_playing(np_record(EP, 0, 0)) is None
    assert history.record_now_playing(np_record(EP, 40, 40)) is None
    row = history.record_now_playing(None)
    assert row is not None
    assert row["played_at"] == T0 + timedelta(minutes=45)
    assert row["source"] == "now_playing"
    # a second observer (a widget with its own poll) saw the same play a little differently
    history.record_now_playing(np_record(EP, 1, 1))
    assert history.record_now_playing(np_record("spotify:track:x", 47, 0, kind="track")) is None
    frame = history.to_frame(extended=True)
    assert len(frame) == 1
    assert frame["ms_played"].iloc[0] == 45 * 60_000


def test_the_thread_can_watch_now_playing(tmp_path: Path, client: FakeClient) -> None:
    # near its end, then the same episode from the start an hour later: a replay
    client.now_playing_records = [np_record(EP, 0, 44.99), np_record(EP, 60, 1)]
    with HistoryLogger(tmp_path / "h.sqlite3", client,
                       interval=60, watch_now_playing=True, now_playing_interval=0.05) as h:
        h.start()
        wait_for(lambda: h.store.count("now_playing") == 1)
        assert h.to_frame()["item_uri"].tolist() == [EP]


def test_sparse_now_playing_schedule(history: HistoryLogger, client: FakeClient) -> None:
    history.now_playing_interval = 30.0
    client.now_playing_records = [np_record(EP, 0, 40), None, np_record(EP, 0, 44.9),
                                  np_record(EP, 0, 10, playing=False)]
    assert history._poll_now_playing() == 300.0     # 5 min left, capped at 10 intervals
    assert history._poll_now_playing() == 300.0     # nothing plays: the long wait
    assert history._poll_now_playing() == 30.0      # 6 s left: never faster than the interval
    assert history._poll_now_playing() == 300.0     # paused


# --- against the sandbox -------------------------------------------------------------------------


def test_sync_against_the_sandbox(spotkit_env: Sandbox, tmp_path: Path) -> None:
    sb = spotkit_env
    log_in(sb, tmp_path / "tokens.json")
    from spotkit.client import Spotify

    with Spotify() as api, HistoryLogger(tmp_path / "h.sqlite3", api) as h:
        first = h.sync()
        assert len(first) == 30  # the sandbox's seeded history
        sb.set_speed(2000)      # about 8 tracks a second
        time.sleep(0.5)
        sb.set_speed(1)
        h.sync()
        plays = [(p["played_at_ms"], p["uri"]) for p in sb.play_history() if p["type"] == "track"]
        assert keys(h) == sorted(plays)
        afters = [r["query"].get("after") for r in sb.requests("/v1/me/player/recently-played")]
        assert afters[0] is None
        assert afters[1] == str(to_ms(first[-1]["played_at"]))
        assert api.calls == 2


def test_episodes_from_the_sandbox(spotkit_env: Sandbox, tmp_path: Path) -> None:
    sb = spotkit_env
    log_in(sb, tmp_path / "tokens.json")
    from spotkit.client import Spotify

    episode = sb.episode_uris[0]
    with Spotify() as api, HistoryLogger(tmp_path / "h.sqlite3", api) as h:
        sb.set_playing(episode, progress_ms=20 * 60_000)
        assert h.record_now_playing(api.now_playing()) is None
        sb.set_playing(sb.track_uris[0])
        row = h.record_now_playing(api.now_playing())
        assert row is not None
        assert (row["item_uri"], row["item_type"], row["source"]) == \
            (episode, "episode", "now_playing")
        assert row["name"]
        assert h.record_now_playing(api.now_playing()) is None  # the track: recently-played's job
        h.sync()
        assert set(h.to_frame()["source"]) == {"recently_played", "now_playing"}


def test_a_running_logger_does_not_hold_up_interpreter_exit(tmp_path: Path) -> None:
    code = f"""
import time
from spotkit.history import HistoryLogger
from spotkit.records import HistoryPage

class Client:
    def recently_played_page(self, after=None, before=None, limit=50):
        time.sleep(0.05)
        return HistoryPage([])
    def now_playing(self):
        return None

h = HistoryLogger({str(tmp_path / "h.sqlite3")!r}, Client(), interval=0.01,
                  watch_now_playing=True, now_playing_interval=0.01)
h.start()
time.sleep(0.3)
print("bye", h.syncs > 0)
"""
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "bye True"
    assert out.stderr == ""
    assert time.monotonic() - started < 10
