"""Figures for the history logger: API calls per recorded play, to_frame() on 100,000 plays,
importing 100,000 export records.

1. Calls per play: a sandbox in a subprocess (`python -m spotkit sandbox --speed S`) plays its
   catalogue non-stop; a HistoryLogger polls it at the default interval (25 min) compressed by the
   same factor, for `--minutes` of sandbox time. Every play must be recorded exactly once.
2. to_frame(): a store filled with 100,000 synthetic plays; median of `--repeat` runs, beside
   `pandas.read_sql` + astype for comparison.
3. Import: synthetic extended export files (4 x 25,000 records) into a fresh store, then again
   (all duplicates).

    .venv/bin/python bench/bench_history.py [--speed 600] [--minutes 240] [--plays 100000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _common import SandboxProcess, seed_spotkit_cache

from spotkit.auth.cache import TokenCache
from spotkit.auth.tokens import TokenManager
from spotkit.client import Spotify
from spotkit.config import load_settings
from spotkit.history import DEFAULT_INTERVAL, HistoryLogger
from spotkit.history.frame import FRAME_DTYPES
from spotkit.records import HISTORY_COLUMNS


def calls_per_play(speed: float, minutes: float, tmp: Path) -> dict[str, Any]:
    with SandboxProcess(speed) as sb:
        settings = load_settings(env=sb.env, cache_path=tmp / "tokens.json", dotenv=False)
        seed_spotkit_cache(settings.cache_path, sb, sb.mint_token())
        cache = TokenCache(settings.cache_path)
        interval = DEFAULT_INTERVAL / speed
        with Spotify(settings, auth=TokenManager(settings, cache=cache)) as api, \
                HistoryLogger(tmp / "calls.sqlite3", api, interval=interval) as history:
            first = len(history.sync())
            calls_first = api.calls
            history.start(sync_now=False)
            time.sleep(minutes * 60 / speed)
            history.stop()
            sb.post("/_sandbox/player", {"uri": None})
            history.sync()  # what played since the last poll
            recorded = len(history) - first
            calls = api.calls - calls_first
            plays = sb.get("/_sandbox/history")
            tracks = sorted((p["played_at_ms"], p["uri"]) for p in plays if p["type"] == "track")
            stored = [(int(at), uri) for at, uri in history.store.fetch(["played_at", "item_uri"])]
            counts = sb.counts()
        return {
            "sandbox_minutes": minutes, "speed": speed, "interval_s": DEFAULT_INTERVAL,
            "plays_recorded": recorded, "recently_played_calls": calls,
            "calls_per_play": calls / recorded if recorded else float("nan"),
            "complete": stored == tracks, "missed_warnings": history.missed_warnings,
            "token_requests": counts.get("POST /api/token", 0),
        }


def fill_store(path: Path, n: int) -> None:
    """`n` plays of a catalogue of 20,000 tracks (each with its one name, artists, album and
    duration, as on Spotify) in 200 contexts: a lifetime repeats the tracks it loves."""
    rng = random.Random(1)
    start = 1_600_000_000_000
    artists = [f"Artist {i}" for i in range(500)]
    tracks = []
    for i in range(20_000):
        uri = f"spotify:track:{i:022d}"
        tracks.append({"play_key": uri, "item_type": "track", "item_id": uri.rsplit(":", 1)[1],
                       "item_uri": uri, "name": f"Song {i}", "artists": rng.choice(artists),
                       "album": f"Album {i % 3000}", "duration_ms": rng.randint(90_000, 400_000)})
    contexts = [f"spotify:playlist:{i:022d}" for i in range(200)]
    weights = [1 / (rank + 1) for rank in range(len(tracks))]
    picks = rng.choices(tracks, weights=weights, k=n)
    rows = []
    t = start
    for track in picks:
        t += rng.randint(30_000, 400_000)
        rows.append({**track, "played_at": t, "context_type": "playlist",
                     "context_uri": rng.choice(contexts), "source": "recently_played"})
    with HistoryLogger(path) as history:
        history.store.add_many(rows)


def median_s(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def read_sql_frame(path: Path) -> Any:
    import pandas as pd

    conn = sqlite3.connect(path)
    try:
        frame = pd.read_sql(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM play_rows ORDER BY played_at",
                            conn)
    finally:
        conn.close()
    frame["played_at"] = pd.to_datetime(frame["played_at"], unit="ms", utc=True)
    return frame.astype({c: FRAME_DTYPES[c] for c in HISTORY_COLUMNS})


def to_frame_times(n: int, repeat: int, tmp: Path) -> dict[str, Any]:
    path = tmp / "big.sqlite3"
    fill_store(path, n)
    with HistoryLogger(path) as history:
        assert len(history.to_frame()) == n
        return {"plays": n, "to_frame_s": median_s(history.to_frame, repeat),
                "to_frame_extended_s": median_s(lambda: history.to_frame(extended=True), repeat),
                "read_sql_astype_s": median_s(lambda: read_sql_frame(path), repeat),
                "db_mb": path.stat().st_size / 1e6}


def write_export(folder: Path, n: int, files: int = 4) -> None:
    rng = random.Random(2)
    t = datetime(2016, 1, 1, tzinfo=timezone.utc)
    per = n // files
    for f in range(files):
        records = []
        for _ in range(per):
            t += timedelta(seconds=rng.randint(20, 400))
            episode = rng.random() < 0.05
            uri = f"spotify:{'episode' if episode else 'track'}:{rng.randrange(30_000):022d}"
            records.append({
                "ts": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "platform": "android",
                "ms_played": rng.randint(0, 400_000), "conn_country": "DE",
                "ip_addr": "192.0.2.1",
                "master_metadata_track_name": None if episode else "Song",
                "master_metadata_album_artist_name": None if episode else "Artist",
                "master_metadata_album_album_name": None if episode else "Album",
                "spotify_track_uri": None if episode else uri,
                "episode_name": "Episode" if episode else None,
                "episode_show_name": "Show" if episode else None,
                "spotify_episode_uri": uri if episode else None,
                "reason_start": "trackdone", "reason_end": rng.choice(["trackdone", "fwdbtn"]),
                "shuffle": rng.random() < 0.3, "skipped": rng.random() < 0.2,
                "offline": False, "offline_timestamp": None, "incognito_mode": False})
        (folder / f"Streaming_History_Audio_{2016 + f}_{f}.json").write_text(json.dumps(records))


def import_times(n: int, tmp: Path) -> dict[str, Any]:
    folder = tmp / "export"
    folder.mkdir()
    write_export(folder, n)
    with HistoryLogger(tmp / "import.sqlite3") as history:
        start = time.perf_counter()
        first = history.import_export(folder, progress=False)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = history.import_export(folder, progress=False)
        again_s = time.perf_counter() - start
    return {"records": first.records, "added": first.added, "import_s": first_s,
            "reimport_s": again_s, "reimport_added": again.added,
            "records_per_s": first.records / first_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speed", type=float, default=600.0)
    parser.add_argument("--minutes", type=float, default=240.0, help="sandbox minutes to record")
    parser.add_argument("--plays", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=("calls", "frame", "import"), action="append",
                        help="run only this part (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        parts = set(args.only or ("calls", "frame", "import"))
        results: dict[str, dict[str, Any]] = {}
        if "calls" in parts:
            results["calls"] = calls_per_play(args.speed, args.minutes, tmp)
        if "frame" in parts:
            results["to_frame"] = to_frame_times(args.plays, args.repeat, tmp)
        if "import" in parts:
            results["import"] = import_times(args.plays, tmp)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    if "calls" in results:
        c = results["calls"]
        print(f"API calls per recorded play: {c['calls_per_play']:.3f} "
              f"({c['recently_played_calls']} recently-played calls for {c['plays_recorded']} "
              f"plays in {c['sandbox_minutes']:g} sandbox minutes, polling every "
              f"{c['interval_s']:g} s; complete: {c['complete']}, full-page warnings: "
              f"{c['missed_warnings']})")
    if "to_frame" in results:
        f = results["to_frame"]
        print(f"to_frame() on {f['plays']:,} plays: {f['to_frame_s'] * 1000:.0f} ms "
              f"(extended: {f['to_frame_extended_s'] * 1000:.0f} ms; pandas.read_sql + astype: "
              f"{f['read_sql_astype_s'] * 1000:.0f} ms; database {f['db_mb']:.1f} MB)")
    if "import" in results:
        i = results["import"]
        print(f"import of {i['records']:,} extended export records: {i['import_s']:.2f} s "
              f"({i['records_per_s']:,.0f} records/s); again (all duplicates): "
              f"{i['reimport_s']:.2f} s, {i['reimport_added']} added")

if __name__ == "__main__":
    main()
