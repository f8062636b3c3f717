"""API calls per played track, and how late the now-playing widget shows the next track.

The sandbox runs in a subprocess (`python -m spotkit sandbox --speed S`) with time compressed S
times; tracks play out back to back from the start of its queue. Each strategy runs on the same
tracks from the same start:

* `widget`: NowPlayingWidget's poller (headless: ipywidgets works without a frontend) with its
  defaults (sync every 30 s of wall time, poll at the expected end + 0.5 s of playback);
* `widget, sync N s of playback`: the same with the sync interval compressed too, i.e. what a
  real-time session costs when the sync fires every N s during each track (N = 30, the default,
  and 90, which keeps a real-time session at 3 calls per track or fewer);
* `fixed 1 s`, `fixed 5 s`: naive polling every 1 s / 5 s of playback time.

Calls are counted by the sandbox (GET /v1/me/player), so retries and refreshes would count too.
A delay is the time between a track's natural end (the sandbox's play history) and the moment a
poll returned the next track, multiplied by S: seconds in real time.

    .venv/bin/python bench/bench_widget.py [--speed 40] [--tracks 4] [--json]

Goal: at most 3 calls per track, at most 1.5 s delay (real time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _common import SandboxProcess, seed_spotkit_cache

from spotkit.client import Spotify
from spotkit.config import load_settings
from spotkit.widgets.now_playing import NowPlayingWidget
from spotkit.widgets.scheduler import Observation

GOAL_CALLS = 3.0
GOAL_DELAY = 1.5
PLAYER = "GET /v1/me/player"


@dataclass
class Run:
    name: str
    calls: int = 0
    tracks: int = 0
    delays: list[float] = field(default_factory=list)  # real-time seconds

    @property
    def calls_per_track(self) -> float:
        return self.calls / self.tracks if self.tracks else float("nan")


class Watcher:
    """Notes when each new item is first seen; done after `tracks` changes."""

    def __init__(self, tracks: int) -> None:
        self.tracks = tracks
        self.changes: list[tuple[float, str]] = []  # (wall time, new uri)
        self.last: str | None = None
        self.done = threading.Event()

    def see(self, uri: str | None, wall: float) -> None:
        if uri is None or uri == self.last:
            return
        if self.last is not None:
            self.changes.append((wall, uri))
            if len(self.changes) >= self.tracks:
                self.done.set()
        self.last = uri


def run_strategy(sb: SandboxProcess, client: Spotify, name: str, tracks: int,
                 body: Callable[[Watcher], None]) -> Run:
    first = sb.state()["player"]["queue"][0]
    sb.post("/_sandbox/player", {"uri": first, "is_playing": True, "progress_ms": 0})
    sb.post("/_sandbox/reset-log")
    started_ms = int(sb.state()["now_ms"])
    wall_of = sb.wall_of()
    watcher = Watcher(tracks)
    body(watcher)
    calls = int(sb.get("/_sandbox/counts").get(PLAYER, 0))
    ends = [p for p in sb.get("/_sandbox/history") if p["played_at_ms"] >= started_ms]
    run = Run(name, calls=calls, tracks=len(watcher.changes))
    for (seen_wall, _uri), end in zip(watcher.changes, ends, strict=False):
        run.delays.append((seen_wall - wall_of(int(end["played_at_ms"]))) * sb.speed)
    return run


def widget_body(client: Spotify, speed: float, sync_interval: float,
                timeout: float) -> Callable[[Watcher], None]:
    def body(watcher: Watcher) -> None:
        widget = NowPlayingWidget(client, time_scale=speed, sync_interval=sync_interval,
                                  autostart=False, fetch_image=lambda url: None)

        def on_record(obs: Observation) -> None:
            wall = time.time()
            watcher.see(obs.item_uri, wall)

        widget.poller.on_record = on_record
        widget.start()
        try:
            watcher.done.wait(timeout)
        finally:
            widget.close()

    return body


def fixed_body(client: Spotify, interval: float, timeout: float) -> Callable[[Watcher], None]:
    def body(watcher: Watcher) -> None:
        deadline = time.monotonic() + timeout
        due = time.monotonic()
        while not watcher.done.is_set() and time.monotonic() < deadline:
            record = client.playback()
            watcher.see(record.get("item_uri") if record else None, time.time())
            due += interval
            time.sleep(max(0.0, due - time.monotonic()))

    return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=40.0, help="sandbox time compression")
    parser.add_argument("--tracks", type=int, default=4, help="natural track ends per strategy")
    parser.add_argument("--sync", type=float, default=30.0, help="the widget's sync interval, s")
    parser.add_argument("--sync-playback", default="30,90",
                        help="sync intervals in seconds of playback to run too (comma-separated)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    sb = SandboxProcess(args.speed)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env=sb.env, cache_path=Path(tmp) / "tokens.json", dotenv=False)
            seed_spotkit_cache(settings.cache_path, sb, sb.mint_token())
            client = Spotify(settings)
            # the catalogue's longest track is under 7 minutes
            timeout = (args.tracks + 1) * 420.0 / args.speed + 30.0
            s = args.speed
            strategies: list[tuple[str, Callable[[Watcher], None]]] = [
                (f"widget (sync {args.sync:g} s wall)",
                 widget_body(client, s, args.sync, timeout)),
                *[(f"widget (sync {n:g} s of playback)", widget_body(client, s, n / s, timeout))
                  for n in (float(v) for v in args.sync_playback.split(",") if v.strip())],
                ("fixed 1 s polling", fixed_body(client, 1.0 / s, timeout)),
                ("fixed 5 s polling", fixed_body(client, 5.0 / s, timeout)),
            ]
            runs = [run_strategy(sb, client, name, args.tracks, body)
                    for name, body in strategies]
            client.close()
    finally:
        sb.close()

    if args.json:
        print(json.dumps({"speed": args.speed, "tracks": args.tracks, "runs": [
            {"strategy": r.name, "calls": r.calls, "tracks": r.tracks,
             "calls_per_track": r.calls_per_track, "delays_s": r.delays} for r in runs]},
            indent=2))
        return 0
    print(f"sandbox speed x{args.speed:g}, {args.tracks} natural track ends per strategy; "
          "delays in real-time seconds (wall delay x speed)")
    print(f"{'strategy':<34} {'calls':>6} {'tracks':>6} {'calls/track':>11} "
          f"{'median delay':>12} {'max delay':>10}")
    for r in runs:
        median = statistics.median(r.delays) if r.delays else float("nan")
        worst = max(r.delays) if r.delays else float("nan")
        print(f"{r.name:<34} {r.calls:>6} {r.tracks:>6} {r.calls_per_track:>11.2f} "
              f"{median:>11.2f}s {worst:>9.2f}s")
    best = runs[0]
    ok = best.calls_per_track <= GOAL_CALLS and bool(best.delays) and max(best.delays) <= GOAL_DELAY
    print(f"goal (widget, default sync): <= {GOAL_CALLS:g} calls/track and <= {GOAL_DELAY:g} s "
          f"delay: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
