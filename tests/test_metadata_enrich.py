"""enrich() end to end against the sandbox: columns, most-played first, the cache, pacing under a
real rolling-window limiter, 429 storms, a run killed mid-way, the background handle, the CLI."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from spotkit.client import Spotify
from spotkit.config import Settings
from spotkit.errors import RateLimited
from spotkit.metadata import EnrichHandle, MetadataCache, Pacer, enrich
from spotkit.sandbox import Sandbox


class SandboxTokens:
    """A TokenSource over tokens the sandbox mints (no login, no cache file)."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.token = sb.issue_token()["access_token"]

    def access_token(self) -> str:
        return str(self.token)

    def refresh(self, stale: str | None = None, /) -> object:
        self.token = self.sb.issue_token()["access_token"]
        return self.token


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed_history=0, playing=False) as sandbox:
        sandbox.grow_catalogue(120)
        yield sandbox


@pytest.fixture
def sp(sb: Sandbox, tmp_path: Path) -> Iterator[Spotify]:
    # the token cache's folder (where a 429's shared back-off is kept) in tmp_path
    with Spotify(Settings(client_id=sb.client_id, api_url=sb.api_url,
                          cache_path=tmp_path / "tokens.json"),
                 auth=SandboxTokens(sb)) as client:
        yield client


def generated(sb: Sandbox, n: int) -> list[str]:
    return sb.grow_catalogue(120)[:n]


def fetched(sb: Sandbox) -> list[str]:
    """`kind/id` of every catalogue call the sandbox answered 200, in order."""
    return ["/".join(e["path"].split("/")[2:]) for e in sb.requests()
            if e["status"] == 200 and e["path"].split("/")[2] in ("tracks", "albums", "artists")]


def settled(sb: Sandbox, quiet: float = 0.5, limit: float = 10.0) -> list[str]:
    """:func:`fetched` once the log has not grown for `quiet` seconds (a loaded machine answers late)."""
    seen, since, deadline = fetched(sb), time.monotonic(), time.monotonic() + limit
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.05)
        now = fetched(sb)
        if now != seen:
            seen, since = now, time.monotonic()
    return seen


def history_frame(uris: list[str], plays: list[int]) -> pd.DataFrame:
    rows = [u for u, n in zip(uris, plays, strict=True) for _ in range(n)]
    return pd.DataFrame({"item_uri": pd.array([*rows, "spotify:episode:" + "e" * 22, None],
                                              dtype="string"),
                         "name": [f"play {i}" for i in range(len(rows) + 2)]})


def test_columns_most_played_first_and_a_second_run_without_calls(
        sb: Sandbox, sp: Spotify, tmp_path: Path) -> None:
    uris = generated(sb, 6)
    frame = history_frame(uris, [1, 3, 1, 5, 2, 1])
    cache = tmp_path / "metadata.sqlite3"
    out = enrich(frame, client=sp, cache=cache, progress=False)
    assert list(out.columns) == ["item_uri", "name", "release_date", "release_year", "album_id",
                                 "explicit", "isrc", "popularity", "artist_ids", "album_type",
                                 "label", "genres"]
    assert str(out["release_year"].dtype) == "Int64"
    assert str(out["explicit"].dtype) == "boolean"
    assert str(out["genres"].dtype) == "string"
    assert list(out.index) == list(frame.index)
    pd.testing.assert_frame_equal(out[["item_uri", "name"]], frame)
    calls = fetched(sb)
    tracks = [c.split("/")[1] for c in calls if c.startswith("tracks/")]
    ids = [u.rsplit(":", 1)[1] for u in uris]
    assert tracks == [ids[3], ids[1], ids[4], ids[0], ids[2], ids[5]]  # by plays, ties in order
    assert calls[0] == f"tracks/{ids[3]}"
    assert calls[1].startswith("albums/")
    assert len(calls) == len(set(calls))   # nothing fetched twice
    played_most = out[out["item_uri"] == uris[3]].iloc[0]
    truth = sp.track(uris[3])
    assert played_most["album_id"] == truth["album"]["id"]
    assert played_most["release_date"] == truth["album"]["release_date"]
    assert played_most["release_year"] == int(truth["album"]["release_date"][:4])
    assert played_most["isrc"] == truth["external_ids"]["isrc"]
    assert played_most["label"] == "Sandbox Records"
    assert pd.isna(played_most["popularity"])    # gone in development mode
    genres = [g for a in truth["artists"] for g in sp.artist(a["id"])["genres"]]
    assert (played_most["genres"] or "") == ", ".join(dict.fromkeys(genres))
    assert out.iloc[-2:][["release_date", "album_id", "genres"]].isna().all().all()

    sb.reset_log()
    again = enrich(frame, client=sp, cache=cache, progress=False)
    assert sb.counts() == {}        # every item cached: not one call
    pd.testing.assert_frame_equal(again, out)
    with MetadataCache(cache) as kept:
        assert kept.count("track") == 6


def test_ids_the_rows_carry_spare_the_track_calls(sb: Sandbox, sp: Spotify,
                                                  tmp_path: Path) -> None:
    uris = generated(sb, 3)
    tracks = [sp.track(u) for u in uris]
    records = [{"item_uri": u, "album_id": t["album"]["id"],
                "artist_ids": ", ".join(a["id"] for a in t["artists"])}
               for u, t in zip(uris, tracks, strict=True)]
    sb.reset_log()
    out = enrich(records, ("albums", "artists"), client=sp, cache=tmp_path / "m.sqlite3",
                 progress=False)
    assert not any(c.startswith("tracks/") for c in fetched(sb))
    assert set(out[0]) == {"item_uri", "album_id", "artist_ids", "release_date",
                           "release_year", "album_type", "label", "genres"}
    assert out[0]["release_date"] == tracks[0]["album"]["release_date"]
    only_tracks = enrich([uris[0]], "tracks", client=sp, cache=tmp_path / "m.sqlite3",
                         progress=False)
    assert "genres" not in only_tracks[0]
    assert only_tracks[0]["isrc"] == tracks[0]["external_ids"]["isrc"]


def test_limit_then_the_next_run_goes_on(sb: Sandbox, sp: Spotify, tmp_path: Path) -> None:
    uris = generated(sb, 10)
    cache = tmp_path / "m.sqlite3"
    first = enrich(uris, "tracks", client=sp, cache=cache, limit=4, progress=False)
    assert len(fetched(sb)) == 4
    assert sum(r["album_id"] is not None for r in first) == 4
    sb.reset_log()
    enrich(uris, "tracks", client=sp, cache=cache, progress=False)
    assert len(fetched(sb)) == 6


def test_paced_under_a_rolling_window(sb: Sandbox, sp: Spotify, tmp_path: Path) -> None:
    uris = generated(sb, 60)
    sb.set_rate_limit(15, window=1.0)
    started = time.monotonic()
    out = enrich(uris, client=sp, cache=tmp_path / "m.sqlite3", pacer=Pacer(window=1.0),
                 progress=False)
    limiter = sb.rate_limit()
    assert limiter is not None
    assert limiter["refused"] == 1          # the first 429 taught the budget; no second one
    assert limiter["admitted"] == len(set(fetched(sb))) > 60
    assert all(r["album_id"] for r in out)
    # at most 15 per second at the sandbox means at least (calls / 15) - 1 seconds
    assert time.monotonic() - started > limiter["admitted"] / 15 - 1


def test_a_429_storm_is_waited_out_call_by_call(sb: Sandbox, sp: Spotify,
                                                tmp_path: Path) -> None:
    uri = generated(sb, 1)[0]
    path = f"/v1/tracks/{uri.rsplit(':', 1)[1]}"
    sb.queue_fault(path, 429, times=3, retry_after=1)
    out = enrich([uri], "tracks", client=sp, cache=tmp_path / "m.sqlite3", progress=False)
    assert out[0]["album_id"]
    tries = [e for e in sb.requests(path)]
    assert [e["status"] for e in tries] == [429, 429, 429, 200]
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(tries)]
    assert all(gap >= 0.95 for gap in gaps)   # Retry-After honoured every time, no hammering


def test_a_long_retry_after_ends_the_run_keeping_what_was_fetched(
        sb: Sandbox, sp: Spotify, tmp_path: Path) -> None:
    uris = generated(sb, 3)
    cache = tmp_path / "m.sqlite3"
    rows = [uris[0]] * 3 + [uris[1]] * 2 + [uris[2]]
    sb.queue_fault(f"/v1/tracks/{uris[1].rsplit(':', 1)[1]}", 429, retry_after=7200)
    with pytest.raises(RateLimited, match=r"wait 2\.0 h .* run the enrichment again") as info:
        enrich(rows, "tracks", client=sp, cache=cache, progress=False)
    assert info.value.retry_after == 7200
    with MetadataCache(cache) as kept:
        assert kept.missing("track", [u.rsplit(":", 1)[1] for u in uris]) == [
            uris[1].rsplit(":", 1)[1], uris[2].rsplit(":", 1)[1]]


KILLED_RUN = textwrap.dedent("""
    import sys
    from spotkit.client import Spotify
    from spotkit.config import Settings
    from spotkit.metadata import enrich

    class Tokens:
        def access_token(self): return sys.argv[3]
        def refresh(self, stale): return None

    uris = sys.argv[4].split(",")
    client = Spotify(Settings(client_id="x", api_url=sys.argv[1],
                              cache_path=sys.argv[2] + ".tokens.json"), auth=Tokens())
    enrich(uris, client=client, cache=sys.argv[2], progress=False)
""")


def test_a_run_killed_mid_way_loses_nothing_it_fetched(sb: Sandbox, tmp_path: Path) -> None:
    uris = sb.grow_catalogue(120)
    cache = tmp_path / "m.sqlite3"
    token = sb.issue_token()["access_token"]
    for path in {f"/v1/tracks/{u.rsplit(':', 1)[1]}" for u in uris}:  # slow enough to kill
        sb.queue_fault(path, None, delay=0.02)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, sb.api_url, str(cache), token, ",".join(uris)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while len(fetched(sb)) < 40 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    before = settled(sb)   # the request in flight at the kill is answered (and logged) by now
    assert 40 <= len(before) < 200
    with MetadataCache(cache) as kept:
        in_cache = kept.count()
    # every answer that came back was committed, except at most the one in flight
    assert len(before) - 1 <= in_cache <= len(before)
    sb.clear_faults()
    sb.reset_log()
    with Spotify(Settings(client_id=sb.client_id, api_url=sb.api_url,
                          cache_path=tmp_path / "tokens.json"), auth=SandboxTokens(sb)) as sp:
        out = enrich(uris, client=sp, cache=cache, progress=False)
    after = fetched(sb)
    assert set(after).isdisjoint(before[:in_cache])   # resumed: nothing committed asked again
    assert len(set(before) | set(after)) == len(before) + len(after) - (len(before) - in_cache)
    assert all(r["album_id"] and r["genres"] is not None for r in out)
    with MetadataCache(cache) as kept:
        assert kept.count() == len(set(before) | set(after))


def test_background_handle(sb: Sandbox, sp: Spotify, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    uris = generated(sb, 60)
    sb.set_rate_limit(20, window=1.0)
    handle = enrich(uris, client=sp, cache=tmp_path / "m.sqlite3", background=True,
                    pacer=Pacer(18, window=1.0))
    assert isinstance(handle, EnrichHandle)
    deadline = time.monotonic() + 20
    while handle.progress.done < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    progress = handle.progress
    assert progress.state == "running"
    assert progress.done >= 10
    assert progress.total >= progress.done + 1
    assert progress.eta is not None
    assert progress.eta > 0
    assert "items fetched" in str(progress)
    handle.stop()
    assert not handle.running
    assert handle.progress.state == "stopped"
    partial = handle.result()
    done = sum(r["album_id"] is not None for r in partial)
    assert 0 < done < len(uris)
    assert capsys.readouterr() == ("", "")  # a background run never prints
    rest = enrich(uris, client=sp, cache=tmp_path / "m.sqlite3", background=True,
                  pacer=Pacer(18, window=1.0))
    sb.reset_log()
    assert all(r["album_id"] for r in rest.result(timeout=60))
    assert rest.progress.state == "done"
    # every request the sandbox saw from the second run is counted, 429s included
    assert rest.progress.calls == len(sb.requests())
    assert rest.progress.calls == rest.progress.done + rest.progress.rate_limited


def test_background_failure_is_raised_by_result(sb: Sandbox, sp: Spotify,
                                                tmp_path: Path) -> None:
    uri = generated(sb, 1)[0]
    sb.queue_fault(f"/v1/tracks/{uri.rsplit(':', 1)[1]}", 429, retry_after=600)
    handle = enrich([uri], client=sp, cache=tmp_path / "m.sqlite3", background=True)
    with pytest.raises(RateLimited, match="run the enrichment again"):
        handle.result(timeout=20)
    assert handle.progress.state == "failed"


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="what"):
        enrich([], "genres")
    with pytest.raises(ValueError, match="limit"):
        enrich([], limit=-1)
    with pytest.raises(ValueError, match="item_uri"):
        enrich(pd.DataFrame({"uri": ["x"]}))
    with pytest.raises(TypeError, match="DataFrame"):
        enrich("spotify:track:" + "a" * 22)


def test_history_logger_and_cli(sb: Sandbox, sp: Spotify, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import datetime, timedelta, timezone

    from spotkit.cli import main
    from spotkit.history import HistoryLogger

    uris = generated(sb, 5)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = [{"played_at": start + timedelta(minutes=i), "item_type": "track",
             "item_id": u.rsplit(":", 1)[1], "item_uri": u, "name": f"t{i}",
             "source": "recently_played"}
            for i, u in enumerate(uris * 2 + uris[:1])]
    db = tmp_path / "history.sqlite3"
    with HistoryLogger(db, client=sp) as history:
        history.store.add_plays([{**r, "played_at": int(r["played_at"].timestamp() * 1000),
                                  "play_key": r["item_uri"]} for r in rows])
        out = history.enrich("tracks", cache=tmp_path / "m.sqlite3", limit=2, progress=False)
        assert len(out) == 11
        assert out["album_id"].notna().sum() == 3 + 2   # the two most-played first: 3 + 2 rows
    monkeypatch.setattr("spotkit.client.default_client", lambda: sp)
    code = main(["history", "enrich", "--db", str(db), "--cache", str(tmp_path / "m.sqlite3"),
                 "--limit", "3"])
    out_text = capsys.readouterr().out
    assert code == 0
    assert "Fetched 3 items (2 were cached already)" in out_text
    assert "items left: run `spotkit history enrich` again" in out_text
    assert main(["history", "enrich", "--db", str(db), "--cache",
                 str(tmp_path / "m.sqlite3")]) == 0
    assert "left" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["history", "enrich", "--db", str(db), "--limit", "many"])
    assert Counter(fetched(sb))  # the calls were made against the sandbox


def test_the_apps_shared_back_off_is_obeyed(sb: Sandbox, tmp_path: Path) -> None:
    from spotkit.backoff import SharedBackoff

    settings = Settings(client_id=sb.client_id, api_url=sb.api_url,
                        cache_path=tmp_path / "tokens.json")
    uri = generated(sb, 1)[0]
    other_process = SharedBackoff.for_app(settings)
    assert other_process is not None
    with Spotify(settings, auth=SandboxTokens(sb)) as client:
        other_process.block(3600)   # another spotkit process of this app got a 429
        sb.reset_log()
        with pytest.raises(RateLimited, match="run the enrichment again"):
            enrich([uri], client=client, cache=tmp_path / "m.sqlite3", progress=False)
        assert sb.counts() == {}
        other_process.path.unlink()
        blocked = SharedBackoff.for_app(settings)
        assert blocked is not None
        blocked.block(1.5)
        started = time.monotonic()
        out = enrich([uri], "tracks", client=client, cache=tmp_path / "m.sqlite3",
                     progress=False)
        assert time.monotonic() - started >= 1.3
        assert out[0]["album_id"]
        first_call = min(e["time"] for e in sb.requests())
        assert first_call >= blocked.blocked_until() - 0.3   # nothing sent while blocked
