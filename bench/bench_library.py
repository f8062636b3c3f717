"""Reading a library: 5,000 saved tracks and 40 playlists' items, with Spotify's round trips.

A sandbox in a subprocess (`python -m spotkit sandbox --saved-tracks N --playlists P`) delays every
Web API answer by `--latency` seconds (150 ms by default, inside Spotify's usual 100-300 ms). Each
client reads the same thing twice, one after the other:

- saved tracks: all of them;
- playlists: the list, then the items of every playlist the user may read (owned or
  collaborative; Spotify answers 403 for the others since 2026, and every client skips those).

spotkit reads through its library cache (a fresh one, so the first read starts empty); a spotipy
user's loop (`current_user_saved_tracks(limit=50)` + `next`, `current_user_playlists` +
`playlist_items` + `next`) and tekore's `all_items` read everything again each time. Calls are
counted in the sandbox's request log, wall time on this machine.

    .venv/bin/python bench/bench_library.py [--saved-tracks 5000] [--playlists 40] [--latency 0.15]
                                            [--clients spotkit,spotipy,tekore] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import SandboxProcess, machine_info, seed_spotkit_cache
from _peers import spotipy_client, tekore_sender

Reader = Callable[[], tuple[int, int]]  # -> (saved tracks read, playlist items read)


def _spotkit(sb: SandboxProcess, tmp: Path) -> tuple[Reader, Callable[[], None]]:
    from spotkit.auth.tokens import TokenManager
    from spotkit.client import Spotify
    from spotkit.config import load_settings
    from spotkit.errors import PlaylistNotReadable
    from spotkit.library import LibraryCache

    settings = load_settings(env=sb.env, cache_path=tmp / "tokens.json", dotenv=False)
    seed_spotkit_cache(settings.cache_path, sb, sb.mint_token())
    client = Spotify(settings, auth=TokenManager(settings))
    client.library_cache = LibraryCache(tmp / "library.sqlite3")

    def read() -> tuple[int, int]:
        tracks = len(client.saved_tracks(progress=False))
        items = 0
        for playlist in client.playlists():
            with contextlib.suppress(PlaylistNotReadable):
                items += len(client.playlist_items(playlist, progress=False))
        return tracks, items

    return read, client.close


def _spotipy(sb: SandboxProcess, tmp: Path) -> tuple[Reader, Callable[[], None]]:
    import spotipy

    sp = spotipy_client(sb.api_url, token=sb.mint_token()["access_token"])
    sp.retries = 0  # a 403 is an answer here, not something to retry

    def every(page: Any) -> list[Any]:
        items = list(page["items"])
        while page["next"]:
            page = sp.next(page)
            items.extend(page["items"])
        return items

    def read() -> tuple[int, int]:
        tracks = len(every(sp.current_user_saved_tracks(limit=50)))
        items = 0
        for playlist in every(sp.current_user_playlists(limit=50)):
            try:
                items += len(every(sp.playlist_items(playlist["id"], limit=50)))
            except spotipy.SpotifyException as exc:
                if exc.http_status != 403:
                    raise
        return tracks, items

    return read, lambda: None


def _tekore(sb: SandboxProcess, tmp: Path) -> tuple[Reader, Callable[[], None]]:
    import tekore as tk

    sender = tekore_sender(sb.api_url, sb.accounts_url)
    sp = tk.Spotify(sb.mint_token()["access_token"], sender=sender)

    def read() -> tuple[int, int]:
        tracks = sum(1 for _ in sp.all_items(sp.saved_tracks(limit=50)))
        items = 0
        for playlist in list(sp.all_items(sp.followed_playlists(limit=50))):
            try:
                items += sum(1 for _ in sp.all_items(sp.playlist_items(playlist.id, limit=50)))
            except tk.Forbidden:
                pass
            except (ValueError, AttributeError):
                # tekore's models refuse a local file's album (album_type null, as Spotify sends
                # it): that playlist's page is lost, and the count shows it
                pass
        return tracks, items

    return read, lambda: None


CLIENTS = {"spotkit": _spotkit, "spotipy": _spotipy, "tekore": _tekore}


def _api_calls(sb: SandboxProcess) -> int:
    return sum(n for key, n in sb.counts().items()
               if key.startswith("GET /v1/") and "grant_type" not in key)


def measure(sb: SandboxProcess, name: str, tmp: Path) -> dict[str, Any]:
    read, close = CLIENTS[name](sb, tmp / name)
    rounds = []
    try:
        for label in ("first", "second"):
            sb.reset_log()
            start = time.perf_counter()
            tracks, items = read()
            wall = time.perf_counter() - start
            rounds.append({"read": label, "wall_s": round(wall, 3), "calls": _api_calls(sb),
                           "saved_tracks": tracks, "playlist_items": items})
    finally:
        close()
    return {"client": name, "rounds": rounds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--saved-tracks", type=int, default=5000)
    parser.add_argument("--playlists", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.15, help="seconds per answer")
    parser.add_argument("--clients", default="spotkit,spotipy,tekore")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    names = [n.strip() for n in args.clients.split(",") if n.strip()]
    unknown = [n for n in names if n not in CLIENTS]
    if unknown:
        parser.error(f"unknown client(s) {', '.join(unknown)}; choose from {', '.join(CLIENTS)}")
    with tempfile.TemporaryDirectory(prefix="bench-library-") as tmp_dir, \
            SandboxProcess(extra_args=["--saved-tracks", str(args.saved_tracks),
                                       "--playlists", str(args.playlists)]) as sb:
        tmp = Path(tmp_dir)
        sb.get("/_sandbox/library")  # the library is generated on first use: not timed
        sb.post("/_sandbox/latency", {"seconds": args.latency, "path": "/v1/"})
        for name in names:
            (tmp / name).mkdir()
        results = [measure(sb, name, tmp) for name in names]
    report = {"machine": machine_info(), "saved_tracks": args.saved_tracks,
              "playlists": args.playlists, "latency_s": args.latency, "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"Reading {args.saved_tracks} saved tracks and {args.playlists} playlists' items, "
          f"{args.latency * 1000:g} ms per answer")
    print(f"{'client':<9} {'read':<7} {'calls':>6} {'wall s':>8}  tracks  items")
    for result in results:
        for r in result["rounds"]:
            print(f"{result['client']:<9} {r['read']:<7} {r['calls']:>6} {r['wall_s']:>8.2f}  "
                  f"{r['saved_tracks']:>6} {r['playlist_items']:>6}")
    ours = next((r["rounds"] for r in results if r["client"] == "spotkit"), None)
    if ours is not None:
        for result in results:
            if result["client"] != "spotkit":
                theirs = result["rounds"]
                print(f"second read: spotkit {theirs[1]['wall_s'] / ours[1]['wall_s']:.0f}x "
                      f"faster than {result['client']}'s; first read "
                      f"{ours[0]['wall_s'] / theirs[0]['wall_s']:.2f}x its time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
