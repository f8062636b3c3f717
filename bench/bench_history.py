"""Figures for the history logger: API calls per recorded play, and a lifetime of plays (issue 14:
1,000,000 plays into a DataFrame, imported, re-imported, stored) beside its anchors.

1. Calls per play: a sandbox in a subprocess (`python -m spotkit sandbox --speed S`) plays its
   catalogue non-stop; a HistoryLogger polls it at the default interval (25 min) compressed by the
   same factor, for `--minutes` of sandbox time. Every play must be recorded exactly once.
2. Frame: a store of `--plays` plays of a 20,000-track catalogue. to_frame() and
   to_frame(extended=True), median of `--repeat`, beside the same frame made by hand on the same
   store (pandas.read_sql of the play_rows view + the same astype: like for like); the frame's
   memory_usage(deep=True) and, in a fresh process, the peak RSS growth while building it; a
   month of it with three columns (median of 20).
3. Import: a synthetic extended export (4 files, `--plays` records) into a fresh store, then again
   (all duplicates); the database size; beside pandas.read_json and DuckDB's read_json_auto over
   the same files (parsing only: no dedup, nothing stored).

    .venv/bin/python bench/bench_history.py [--only frame --only import] [--plays 1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
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


_PEAK = """
import json, sys
from pathlib import Path
from spotkit.history import HistoryLogger

def status(field):   # kB, from the kernel's own accounting of this process
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field))
    return int(line.split()[1]) * 1024 / 1e6

with HistoryLogger(sys.argv[1]) as history:
    history.to_frame(until="1970-01-02", extended=True)   # pandas imported and warm, no rows
    Path("/proc/self/clear_refs").write_text("5")          # peak RSS := current RSS
    before = status("VmRSS:")
    frame = history.to_frame(extended=sys.argv[2] == "extended")
    peak = status("VmHWM:")
    print(json.dumps({"rows": len(frame), "rss_before_mb": before, "peak_mb": peak,
                      "growth_mb": peak - before,
                      "frame_mb": int(frame.memory_usage(deep=True).sum()) / 1e6}))
"""


def peak_growth(path: Path, kind: str) -> dict[str, Any]:
    """Peak RSS growth of a fresh process while it builds the frame (Linux: the peak is reset
    through /proc/self/clear_refs once pandas is loaded, then read as VmHWM)."""
    done = subprocess.run([sys.executable, "-c", _PEAK, str(path), kind], capture_output=True,
                          text=True, check=True, timeout=600)
    return dict(json.loads(done.stdout))


def to_frame_times(n: int, repeat: int, tmp: Path) -> dict[str, Any]:
    path = tmp / "big.sqlite3"
    fill_store(path, n)
    with HistoryLogger(path) as history:
        frame = history.to_frame()
        assert len(frame) == n
        extended = history.to_frame(extended=True)
        first = frame["played_at"].iloc[len(frame) // 2].replace(day=1, hour=0, minute=0, second=0,
                                                                 microsecond=0)
        month = {"since": first.to_pydatetime(), "until": (first + pd_month()).to_pydatetime(),
                 "columns": ["played_at", "name", "artists"]}
        result = {
            "plays": n,
            "repeat": repeat,
            "to_frame_s": median_s(history.to_frame, repeat),
            "to_frame_extended_s": median_s(lambda: history.to_frame(extended=True), repeat),
            "read_sql_astype_s": median_s(lambda: read_sql_frame(path), repeat),
            "month_rows": len(history.to_frame(**month)),
            "month_s": median_s(lambda: history.to_frame(**month), 20),
            "frame_mb": int(frame.memory_usage(deep=True).sum()) / 1e6,
            "frame_extended_mb": int(extended.memory_usage(deep=True).sum()) / 1e6,
            "db_mb": path.stat().st_size / 1e6,
        }
    del frame, extended
    result["peak"] = peak_growth(path, "basic")
    result["peak_extended"] = peak_growth(path, "extended")
    return result


def pd_month() -> Any:
    import pandas as pd

    return pd.DateOffset(months=1)


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


def read_json_s(folder: Path) -> float:
    """pandas.read_json over every file: parsing into one DataFrame, nothing more."""
    import pandas as pd

    start = time.perf_counter()
    frames = [pd.read_json(path) for path in sorted(folder.glob("*.json"))]
    assert sum(len(f) for f in frames) > 0
    pd.concat(frames, ignore_index=True)
    return time.perf_counter() - start


def duckdb_s(folder: Path) -> float | None:
    """DuckDB's read_json_auto over the same files into an in-memory table, if duckdb is there."""
    try:
        import duckdb
    except ImportError:
        return None
    conn = duckdb.connect()
    try:
        start = time.perf_counter()
        conn.execute(f"CREATE TABLE plays AS SELECT * FROM read_json_auto('{folder}/*.json')")
        return time.perf_counter() - start
    finally:
        conn.close()


def import_times(n: int, tmp: Path) -> dict[str, Any]:
    folder = tmp / "export"
    folder.mkdir()
    write_export(folder, n)
    path = tmp / "import.sqlite3"
    with HistoryLogger(path) as history:
        start, cpu = time.perf_counter(), time.process_time()
        first = history.import_export(folder, progress=False)
        first_s, first_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        again = history.import_export(folder, progress=False)
        again_s, again_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    read_json = read_json_s(folder)
    read_json_cpu = time.process_time() - cpu
    return {"records": first.records, "added": first.added, "import_s": first_s,
            "import_cpu_s": first_cpu, "reimport_cpu_s": again_cpu,
            "read_json_cpu_s": read_json_cpu,
            "reimport_s": again_s, "reimport_added": again.added,
            "records_per_s": first.records / first_s, "db_mb": path.stat().st_size / 1e6,
            "export_mb": sum(p.stat().st_size for p in folder.iterdir()) / 1e6,
            "read_json_s": read_json, "duckdb_s": duckdb_s(folder)}


#: Issue 14's goals at 1,000,000 plays: (what, measured key, limit, unit).
GOALS = (
    ("to_frame()", ("to_frame", "to_frame_s"), 1.0, "s"),
    ("to_frame(extended=True)", ("to_frame", "to_frame_extended_s"), 1.5, "s"),
    ("DataFrame memory_usage(deep=True)", ("to_frame", "frame_mb"), 150.0, "MB"),
    ("a month, three columns (\"milliseconds\")", ("to_frame", "month_s"), 0.1, "s"),
    ("import of the extended export", ("import", "import_s"), 8.0, "s"),
    ("re-import (all duplicates)", ("import", "reimport_s"), 4.0, "s"),
    ("database after the import", ("import", "db_mb"), 100.0, "MB"),
)


def goal_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for what, (part, key), limit, unit in GOALS:
        if part in results:
            value = float(results[part][key])
            verdict = "met" if value <= limit else f"MISSED by {value / limit:.2f}x"
            lines.append(f"  {what}: {value:.3g} {unit} (goal <= {limit:g} {unit}): {verdict}")
    if "to_frame" in results:
        f = results["to_frame"]
        for label, peak in (("to_frame()", f["peak"]), ("to_frame(extended=True)", f["peak_extended"])):
            ratio = peak["growth_mb"] / peak["frame_mb"]
            lines.append(f"  building {label}: the process's peak {peak['peak_mb']:.0f} MB "
                         f"(goal <= 2 x 150 MB): {'met' if peak['peak_mb'] <= 300 else 'MISSED'}; "
                         f"its growth while building {peak['growth_mb']:.0f} MB = {ratio:.2f}x "
                         f"the {peak['frame_mb']:.0f} MB frame (read strictly, <= 2x the frame: "
                         f"{'met' if ratio <= 2 else 'missed'})")
    if "import" in results and results["import"]["duckdb_s"] is not None:
        i = results["import"]
        lines.append(f"  import faster than DuckDB's bare read: {i['import_s']:.2f} s vs "
                     f"{i['duckdb_s']:.2f} s: {'met' if i['import_s'] < i['duckdb_s'] else 'MISSED'}")
    return lines


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
        print(f"to_frame() on {f['plays']:,} plays: {f['to_frame_s'] * 1000:.0f} ms, "
              f"{f['frame_mb']:.0f} MB (extended: {f['to_frame_extended_s'] * 1000:.0f} ms, "
              f"{f['frame_extended_mb']:.0f} MB); like for like, pandas.read_sql + astype on the "
              f"same store: {f['read_sql_astype_s'] * 1000:.0f} ms "
              f"({f['to_frame_s'] / f['read_sql_astype_s']:.2f}x); a month "
              f"({f['month_rows']:,} plays, 3 columns): {f['month_s'] * 1000:.1f} ms; database "
              f"{f['db_mb']:.1f} MB")
    if "import" in results:
        i = results["import"]
        duck = "not installed" if i["duckdb_s"] is None else f"{i['duckdb_s']:.2f} s"
        print(f"import of {i['records']:,} extended export records ({i['export_mb']:.0f} MB of "
              f"JSON): {i['import_s']:.2f} s ({i['records_per_s']:,.0f} records/s); again (all "
              f"duplicates): {i['reimport_s']:.2f} s, {i['reimport_added']} added; database "
              f"{i['db_mb']:.1f} MB. Anchors, parsing the same files only: pandas.read_json "
              f"{i['read_json_s']:.2f} s, DuckDB read_json_auto {duck}. CPU time of this "
              f"process (a loaded machine stretches wall time): import {i['import_cpu_s']:.2f} s, "
              f"re-import {i['reimport_cpu_s']:.2f} s, pandas.read_json "
              f"{i['read_json_cpu_s']:.2f} s")
    if results.keys() & {"to_frame", "import"}:
        print("Issue 14's goals:")
        print("\n".join(goal_lines(results)))

if __name__ == "__main__":
    main()
