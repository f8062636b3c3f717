"""Enriching N distinct tracks (their albums and artists too) under a rolling-window rate limit.

Since 2026 every track, album and artist is one call. A sandbox in a subprocess holds a generated
catalogue of `--tracks` tracks (five per album, two albums per artist) and answers 429 with
Retry-After beyond `--limit` calls in any rolling `--window` seconds. Spotify's window is 30 s;
the default here is 100 calls per 3 s, Spotify's window compressed ten times so that a run takes
a minute or two instead of fifteen. Retry-After stays in whole seconds, as Spotify sends it.

Three runs, one after the other, each after the limiter's window has emptied:

1. spotkit, cold: ``spotkit.enrich(uris)`` with a fresh metadata cache; its pacer is told the
   (compressed) window length and learns the budget itself.
2. A naive loop a notebook would write: for each track, then each distinct album and artist,
   ``GET`` it; on 429 sleep Retry-After and ask again.
3. spotkit again over the same URIs: everything is cached, so it should make no call.

Calls and 429s are counted by the sandbox's limiter, wall time on this machine.

    .venv/bin/python bench/bench_enrich.py [--tracks 2000] [--limit 100] [--window 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
from _common import SandboxProcess, machine_info

GOAL_429_PER_1000 = 1.0


class _Tokens:
    """A fixed access token the sandbox minted (no login, no refresh needed in a short run)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refresh(self, stale: str | None = None, /) -> object:
        return None


def _limiter(sb: SandboxProcess, limit: int, window: float) -> dict[str, Any]:
    """Switch the limiter on afresh (empty window, zero counts) once the last window has passed."""
    time.sleep(window + 0.5)
    return dict(sb.post("/_sandbox/rate-limit", {"limit": limit, "window": window}))


def _figures(sb: SandboxProcess, wall: float) -> dict[str, Any]:
    stats = sb.get("/_sandbox/rate-limit")
    calls = int(stats["admitted"]) + int(stats["refused"])
    return {"calls": calls, "rate_limited": int(stats["refused"]), "wall_s": round(wall, 2),
            "per_1000_calls": round(1000 * stats["refused"] / calls, 2) if calls else 0.0}


def run_spotkit(sb: SandboxProcess, uris: list[str], cache: Path, token: str,
                window: float) -> tuple[float, int]:
    from spotkit.client import Spotify
    from spotkit.config import Settings
    from spotkit.metadata import Pacer, enrich

    # the token cache's folder, where the app's shared back-off is kept: the run's own
    settings = Settings(client_id=sb.client_id, api_url=sb.api_url,
                        cache_path=cache.parent / "tokens.json")
    with Spotify(settings, auth=_Tokens(token)) as client:
        started = time.perf_counter()
        rows = enrich(uris, client=client, cache=cache, pacer=Pacer(window=window),
                      progress=False)
        wall = time.perf_counter() - started
    complete = sum(1 for r in rows if r["album_id"] and r["genres"] is not None)
    return wall, complete


def run_naive(sb: SandboxProcess, uris: list[str], token: str) -> tuple[float, int]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def get(path: str) -> dict[str, Any]:
        while True:
            resp = session.get(sb.api_url + path, timeout=30)
            if resp.status_code == 429:
                time.sleep(float(resp.headers.get("Retry-After", "1")))
                continue
            resp.raise_for_status()
            return dict(resp.json())

    started = time.perf_counter()
    albums: dict[str, None] = {}
    artists: dict[str, None] = {}
    for uri in uris:
        track = get(f"/tracks/{uri.rsplit(':', 1)[1]}")
        albums[track["album"]["id"]] = None
        artists.update(dict.fromkeys(a["id"] for a in track["artists"]))
    for album_id in albums:
        get(f"/albums/{album_id}")
    for artist_id in artists:
        get(f"/artists/{artist_id}")
    session.close()
    return time.perf_counter() - started, len(uris)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tracks", type=int, default=2000, help="distinct tracks (default 2000)")
    parser.add_argument("--limit", type=int, default=100,
                        help="calls allowed per window (default 100)")
    parser.add_argument("--window", type=float, default=3.0,
                        help="the window in seconds (default 3: Spotify's 30 s, ten times faster)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    results: dict[str, Any] = {"tracks": args.tracks, "limit": args.limit, "window_s": args.window,
                               "machine": machine_info()}
    with SandboxProcess() as sb, tempfile.TemporaryDirectory() as tmp:
        uris = list(sb.post("/_sandbox/catalogue", {"tracks": args.tracks})["tracks"])
        token = str(sb.mint_token()["access_token"])
        cache = Path(tmp) / "metadata.sqlite3"

        _limiter(sb, args.limit, args.window)
        wall, complete = run_spotkit(sb, uris, cache, token, args.window)
        results["spotkit_cold"] = {**_figures(sb, wall), "rows_complete": complete}

        _limiter(sb, args.limit, args.window)
        wall, done = run_naive(sb, uris, token)
        results["naive_loop"] = {**_figures(sb, wall), "rows_complete": done}

        _limiter(sb, args.limit, args.window)
        wall, complete = run_spotkit(sb, uris, cache, token, args.window)
        results["spotkit_cached"] = {**_figures(sb, wall), "rows_complete": complete}

    cold, cached = results["spotkit_cold"], results["spotkit_cached"]
    results["goals"] = {
        "at_most_1_429_per_1000_calls": cold["per_1000_calls"] <= GOAL_429_PER_1000,
        "second_run_0_calls": cached["calls"] == 0,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"Enriching {args.tracks} distinct tracks (+ albums, artists); sandbox limit "
          f"{args.limit} calls per rolling {args.window:g} s")
    print(f"{'run':<16}{'calls':>8}{'429s':>7}{'429/1000':>10}{'wall s':>9}{'rows done':>11}")
    for key in ("spotkit_cold", "naive_loop", "spotkit_cached"):
        r = results[key]
        print(f"{key:<16}{r['calls']:>8}{r['rate_limited']:>7}{r['per_1000_calls']:>10}"
              f"{r['wall_s']:>9}{r['rows_complete']:>11}")
    for goal, met in results["goals"].items():
        print(f"goal {goal.replace('_', ' ')}: {'pass' if met else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
