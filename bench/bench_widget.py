"""API calls per hour and display delay of the now-playing widget, watched and not, over a
simulated hour of listening with skips made from "another device".

The sandbox runs in a subprocess (`python -m spotkit sandbox --speed S`), its clock S times
faster than the wall clock, so an hour of listening takes 3600/S s. It plays its queue from the
start; a driver skips to the next track at random moments (seeded) through the sandbox's admin
API, as a phone would, and otherwise lets tracks end by themselves. Every strategy watches the
same session at the same time, each with its own client, so all see the same changes:

* `widget, watched`: NowPlayingWidget with its defaults (a 9 s sync) counted as watched;
* `widget, not watched`: the same widget that nobody looks at (no view, as in a hidden tab);
* `widget, not watched, background=True`: the same asking for background updates (every 5 min);
* `today's widget`: the timing of the widget before it knew whether it was watched
  (`PollPolicy.classic()`: a 30 s sync stretching to 2 minutes, polling whether watched or not);
* `fixed 1 s`, `fixed 5 s`: naive polling every 1 s / 5 s (what a spotipy or tekore user writes),
  with spotkit's client.

Every wall-clock interval of the widgets (sync, backoff, background) is divided by S, so each
runs as it would in real time. Calls are the requests each client sent (its own counter: polls,
retries, refreshes). A delay is the time from a change (a skip, or a track's natural end) to the
moment the strategy's poll returned something other than the item before the change, times S:
seconds in real time. A change never seen before the next one counts as missed.

    .venv/bin/python bench/bench_widget.py [--speed 20] [--minutes 60] [--seed 1] [--json]

Goals: watched, at most 20 calls per 3-minute track and a skip shown within 10 s (p95);
not watched, 0 calls per hour.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import SandboxProcess, seed_spotkit_cache

from spotkit.client import Spotify
from spotkit.config import load_settings
from spotkit.sandbox.catalogue import TRACKS
from spotkit.widgets.now_playing import NowPlayingWidget
from spotkit.widgets.scheduler import Observation, PollPolicy

GOAL_CALLS_PER_TRACK = 20.0  # watched, per 3-minute track
GOAL_SKIP_P95 = 10.0  # watched, seconds
GOAL_UNWATCHED_PER_HOUR = 0.0
SKIP_CHANCE = 0.4  # of a track being skipped midway on "another device"
DURATIONS = {t.uri: t.duration_ms for t in TRACKS.values()}


@dataclass
class Change:
    wall: float  # time.time() when the new item started
    before: str  # the item playing until then
    after: str
    kind: str  # "skip" | "end"


@dataclass
class Strategy:
    name: str
    seen: list[tuple[float, str | None]] = field(default_factory=list)  # (wall, item uri)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def see(self, uri: str | None) -> None:
        with self.lock:
            self.seen.append((time.time(), uri))


def plan(rng: random.Random, queue: list[str], minutes: float) -> list[tuple[int, float | None]]:
    """(queue position, playback seconds after which it is skipped or None) until `minutes`."""
    out: list[tuple[int, float | None]] = []
    total, pos = 0.0, 0
    while total < minutes * 60:
        duration = DURATIONS[queue[pos]] / 1000
        skip = rng.uniform(35.0, duration - 15.0) if rng.random() < SKIP_CHANCE else None
        out.append((pos, skip))
        total += skip if skip is not None else duration
        pos = (pos + 1) % len(queue)
    return out


def drive(sb: SandboxProcess, queue: list[str], steps: list[tuple[int, float | None]],
          stop: threading.Event) -> tuple[list[Change], float]:
    """Play the plan on the sandbox: skips through the admin API, ends by themselves.
    Returns the changes and the session's length in wall seconds."""
    speed = sb.speed
    changes: list[Change] = []

    def post_player(uri: str) -> float:
        before = time.time()
        sb.post("/_sandbox/player", {"uri": uri, "is_playing": True, "progress_ms": 0})
        return (before + time.time()) / 2

    start = began = post_player(queue[0])
    for i, (pos, skip) in enumerate(steps):
        if stop.is_set():
            break
        uri = queue[pos]
        after = queue[(pos + 1) % len(queue)]
        if skip is None:
            start += DURATIONS[uri] / 1000 / speed
            kind = "end"
            stop.wait(max(0.0, start - time.time()))
        else:
            stop.wait(max(0.0, start + skip / speed - time.time()))
            start = post_player(after)
            kind = "skip"
        if i < len(steps) - 1:
            changes.append(Change(start, uri, after, kind))
    return changes, time.time() - began


def true_ends(sb: SandboxProcess, changes: list[Change]) -> list[Change]:
    """`changes` with each natural end moved to when the sandbox ended the track (its history)."""
    wall_of = sb.wall_of()
    played = [(p["uri"], wall_of(int(p["played_at_ms"]))) for p in sb.get("/_sandbox/history")]
    out = []
    for change in changes:
        if change.kind == "end":
            ends = [wall for uri, wall in played if uri == change.before]
            if ends:
                nearest = min(ends, key=lambda wall: abs(wall - change.wall))
                if abs(nearest - change.wall) < 5.0:
                    change = Change(nearest, change.before, change.after, change.kind)
        out.append(change)
    return out


def delays(strategy: Strategy, changes: list[Change], speed: float) -> tuple[list[float], int]:
    """Real-time delays of the changes the strategy saw, and how many it missed."""
    out: list[float] = []
    missed = 0
    seen = sorted(strategy.seen)
    for k, change in enumerate(changes):
        horizon = changes[k + 1].wall if k + 1 < len(changes) else math.inf
        first = next((wall for wall, uri in seen
                      if wall >= change.wall and uri != change.before), None)
        if first is None or first > horizon:
            missed += 1
        else:
            out.append((first - change.wall) * speed)
    return out, missed


def scaled(policy: PollPolicy, speed: float) -> PollPolicy:
    """`policy` with every wall-clock interval divided by `speed`."""
    return PollPolicy(**{**policy.__dict__, **{
        name: getattr(policy, name) / speed
        for name in ("sync_interval", "min_gap", "backoff_initial", "backoff_max", "login_retry",
                     "quota_wait", "confirm_delay")}, "time_scale": speed})


def widget_runner(strategy: Strategy, client: Spotify, speed: float, policy: PollPolicy,
                  **kwargs: Any) -> Callable[[threading.Event], None]:
    def run(stop: threading.Event) -> None:
        widget = NowPlayingWidget(client, policy=scaled(policy, speed), autostart=False,
                                  fetch_image=lambda url: None, **kwargs)

        def on_record(obs: Observation) -> None:
            strategy.see(obs.item_uri)

        widget.poller.on_record = on_record
        widget.start()
        try:
            stop.wait()
        finally:
            widget.close()

    return run


def fixed_runner(strategy: Strategy, client: Spotify, interval: float
                 ) -> Callable[[threading.Event], None]:
    def run(stop: threading.Event) -> None:
        due = time.monotonic()
        while not stop.is_set():
            record = client.playback()
            strategy.see(record.get("item_uri") if record else None)
            due += interval
            stop.wait(max(0.0, due - time.monotonic()))

    return run


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=20.0, help="sandbox time compression")
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated listening time")
    parser.add_argument("--seed", type=int, default=1, help="seed of the skip plan")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    s = args.speed
    load = os.getloadavg()[0]

    sb = SandboxProcess(s)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(env=sb.env, cache_path=Path(tmp) / "tokens.json",
                                     dotenv=False)
            seed_spotkit_cache(settings.cache_path, sb, sb.mint_token())
            queue = list(sb.state()["player"]["queue"])
            steps = plan(random.Random(args.seed), queue, args.minutes)
            strategies: list[tuple[Strategy, Spotify]] = []
            specs: list[tuple[str, Callable[[Strategy, Spotify], Callable[[threading.Event],
                                                                          None]]]] = [
                ("widget, watched",
                 lambda st, c: widget_runner(st, c, s, PollPolicy(), assume_watched=True)),
                ("widget, not watched",
                 lambda st, c: widget_runner(st, c, s, PollPolicy())),
                ("widget, not watched, background=True",
                 lambda st, c: widget_runner(st, c, s, PollPolicy(), background=True)),
                ("today's widget (classic timing)",
                 lambda st, c: widget_runner(st, c, s, PollPolicy.classic(),
                                             assume_watched=True)),
                ("fixed 1 s polling", lambda st, c: fixed_runner(st, c, 1.0 / s)),
                ("fixed 5 s polling", lambda st, c: fixed_runner(st, c, 5.0 / s)),
            ]
            stop = threading.Event()
            threads: list[threading.Thread] = []
            for name, make in specs:
                strategy, client = Strategy(name), Spotify(settings)
                strategies.append((strategy, client))
                threads.append(threading.Thread(target=make(strategy, client), args=(stop,),
                                                name=name, daemon=True))
            changes_box: list[tuple[list[Change], float]] = []
            driver = threading.Thread(
                target=lambda: changes_box.append(drive(sb, queue, steps, stop)), daemon=True)
            driver.start()
            time.sleep(0.2)  # the first track is on before anyone looks
            for thread in threads:
                thread.start()
            driver.join(timeout=(args.minutes + 10) * 60 / s + 30)
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            for strategy, client in strategies:
                strategy.calls = client.calls
                client.close()
            if not changes_box:
                raise SystemExit("the listening session did not finish in time")
            changes = true_ends(sb, changes_box[0][0])
            listened = changes_box[0][1] * s  # seconds of listening, a little over --minutes
    finally:
        sb.close()

    hours = listened / 3600
    tracks_3min = listened / 180
    runs = []
    for strategy, _client in strategies:
        all_delays, missed = delays(strategy, changes, s)
        skip_delays, _ = delays(strategy, [c for c in changes if c.kind == "skip"], s)
        runs.append({
            "strategy": strategy.name, "calls": strategy.calls,
            "calls_per_hour": strategy.calls / hours,
            "calls_per_3min_track": strategy.calls / tracks_3min,
            "delays_s": all_delays, "missed": missed,
            "skip_p95_s": percentile(skip_delays, 0.95),
            "skip_max_s": max(skip_delays, default=math.nan),
            "end_max_s": max(delays(strategy, [c for c in changes if c.kind == "end"], s)[0],
                             default=math.nan),
        })
    watched, unwatched = runs[0], runs[1]
    ok = (watched["calls_per_3min_track"] <= GOAL_CALLS_PER_TRACK
          and watched["skip_p95_s"] <= GOAL_SKIP_P95 and watched["missed"] == 0
          and unwatched["calls_per_hour"] <= GOAL_UNWATCHED_PER_HOUR)
    skips = sum(1 for c in changes if c.kind == "skip")
    result = {"speed": s, "minutes": listened / 60, "seed": args.seed, "changes": len(changes),
              "skips": skips, "runs": runs, "goal_met": ok, "load_average_at_start": load}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{listened / 60:.1f} simulated minutes at sandbox speed x{s:g}: {len(changes)} track "
          f"changes ({skips} skips from another device, {len(changes) - skips} natural ends); "
          f"delays in real-time seconds; load average at start {load:.1f}")
    print(f"{'strategy':<38} {'calls/h':>8} {'per 3-min':>9} {'seen':>6} {'median':>7} "
          f"{'skip p95':>8} {'skip max':>8} {'end max':>8}")
    def sec(value: float, width: int) -> str:
        return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width - 1}.2f}s"

    for r in runs:
        d = r["delays_s"]
        median = statistics.median(d) if d else math.nan
        seen = f"{len(d)}/{len(changes)}"
        print(f"{r['strategy']:<38} {r['calls_per_hour']:>8.0f} {r['calls_per_3min_track']:>9.1f} "
              f"{seen:>6} {sec(median, 7)} {sec(r['skip_p95_s'], 8)} {sec(r['skip_max_s'], 8)} "
              f"{sec(r['end_max_s'], 8)}")
    print(f"goals: watched <= {GOAL_CALLS_PER_TRACK:g} calls per 3-minute track and skip p95 <= "
          f"{GOAL_SKIP_P95:g} s; not watched {GOAL_UNWATCHED_PER_HOUR:g} calls/hour: "
          f"{'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
