"""The now-playing poll timing, with a fake clock: no threads, no ipywidgets, no HTTP."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from spotkit.errors import LoginRequired, MissingScope, NetworkError, QuotaExceeded, RateLimited
from spotkit.widgets.scheduler import Observation, PollPolicy, PollScheduler, command_visible


def rec(uri: str | None = "spotify:track:a", progress: int | None = 60_000,
        duration: int | None = 180_000, playing: bool | None = True, **extra: Any) -> dict[str, Any]:
    return {"item_uri": uri, "progress_ms": progress, "duration_ms": duration,
            "is_playing": playing, "item_type": "track", **extra}


def sched(**policy: Any) -> PollScheduler:
    return PollScheduler(PollPolicy(**policy), rng=random.Random(1))


def classic(**policy: Any) -> PollScheduler:
    return PollScheduler(PollPolicy.classic(**policy), rng=random.Random(1))


def test_polls_at_the_expected_end_plus_margin_when_that_comes_before_the_sync() -> None:
    s = sched(sync_interval=300.0, end_margin=0.5)
    delay = s.after_poll(Observation(rec(progress=60_000), at=100.0), None, now=100.0)
    assert delay == pytest.approx(120.5)


def test_sync_interval_wins_when_the_end_is_far() -> None:
    s = sched(sync_interval=30.0)
    assert s.after_poll(Observation(rec(progress=0), at=0.0), None, now=0.0) == pytest.approx(30.0)


def test_expected_end_counts_from_when_the_record_was_observed_not_from_now() -> None:
    s = sched(sync_interval=300.0, end_margin=0.5)
    # observed 2 s ago: 2 s of the remaining 20 s are gone already
    delay = s.after_poll(Observation(rec(progress=160_000), at=98.0), None, now=100.0)
    assert delay == pytest.approx(18.5)


def test_time_scale_compresses_the_track_and_the_margin_alike() -> None:
    s = sched(sync_interval=300.0, end_margin=0.5, time_scale=30.0)
    delay = s.after_poll(Observation(rec(progress=60_000), at=0.0), None, now=0.0)
    assert delay == pytest.approx(120 / 30 + 0.5 / 30)


@pytest.mark.parametrize("record", [
    None,
    rec(playing=False),
    rec(duration=None),
    rec(progress=None),
    rec(uri=None, duration=None, item_type="ad"),
])
def test_paused_idle_or_unknowable_items_wait_for_the_sync_interval(record: Any) -> None:
    s = sched(sync_interval=30.0)
    assert s.after_poll(Observation(record, at=0.0), None, now=0.0) == pytest.approx(30.0)


def test_a_late_poll_retries_with_a_doubling_margin_then_resets_on_the_next_item() -> None:
    s = sched(sync_interval=300.0, end_margin=0.5)
    first = Observation(rec(progress=170_000), at=0.0)            # ends at t=10
    s.after_poll(first, None, now=0.0)
    late1 = Observation(rec(progress=179_900), at=10.5)           # still on at end + margin
    assert s.after_poll(late1, first, now=10.5) == pytest.approx(0.1 + 1.0)
    assert s.late == 1
    late2 = Observation(rec(progress=179_990), at=11.6)
    assert s.after_poll(late2, late1, now=11.6) == pytest.approx(0.01 + 2.0)
    assert s.late == 2
    following = Observation(rec(uri="spotify:track:b", progress=300), at=13.6)
    assert s.after_poll(following, late2, now=13.6) == pytest.approx(179.7 + 0.5)
    assert s.late == 0


def test_repeat_one_restarting_the_same_item_is_not_late() -> None:
    s = sched(sync_interval=300.0)
    first = Observation(rec(progress=179_000), at=0.0)
    s.after_poll(first, None, now=0.0)
    again = Observation(rec(progress=500), at=1.5)
    s.after_poll(again, first, now=1.5)
    assert s.late == 0


def test_the_delay_is_never_negative_or_zero() -> None:
    s = sched(min_delay=0.01)
    # the record says the item ended long ago (clock skew): poll again soon, not in a busy loop
    delay = s.after_poll(Observation(rec(progress=180_000), at=0.0), None, now=50.0)
    assert delay == pytest.approx(0.01)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    s = sched(backoff_initial=2.0, backoff_max=20.0, jitter=0.2)
    delays = [s.after_error(NetworkError("down")) for _ in range(6)]
    for n, delay in enumerate(delays):
        base = min(20.0, 2.0 * 2 ** n)
        assert base * 0.8 <= delay <= base * 1.2
    assert s.errors == 6
    s.after_poll(Observation(None, at=0.0), None, now=0.0)
    assert s.errors == 0


def test_rate_limit_waits_at_least_retry_after() -> None:
    s = sched(backoff_initial=2.0)
    exc = RateLimited(429, "Too many requests", retry_after=40.0)
    delay = s.after_error(exc)
    assert 40.0 <= delay <= 40.0 + 0.2 * 40.0


def test_retry_after_longer_than_the_backoff_cap_is_still_honoured() -> None:
    s = sched(backoff_max=60.0)
    delay = s.after_error(RateLimited(429, "slow down", retry_after=3600.0))
    assert delay >= 3600.0


def test_quota_exceeded_without_retry_after_waits_the_quota_wait() -> None:
    s = sched(quota_wait=600.0)
    delay = s.after_error(QuotaExceeded(429, "quota", "QUOTA_EXCEEDED"))
    assert delay >= 600.0


@pytest.mark.parametrize("exc", [LoginRequired("log in"),
                                 MissingScope("scope", missing=("user-read-playback-state",))])
def test_no_login_looks_again_at_the_login_retry_without_counting_an_error(exc: Exception) -> None:
    s = sched(login_retry=5.0)
    assert s.after_error(exc) == 5.0
    assert s.errors == 0


def test_a_command_polls_at_once() -> None:
    assert sched().after_command() == 0.0


def test_position_is_extrapolated_while_playing_and_clamped() -> None:
    s = sched(time_scale=2.0)
    obs = Observation(rec(progress=10_000, duration=20_000), at=100.0)
    assert s.position_ms(obs, 100.0) == 10_000
    assert s.position_ms(obs, 102.5) == 15_000
    assert s.position_ms(obs, 200.0) == 20_000
    paused = Observation(rec(progress=10_000, playing=False), at=100.0)
    assert s.position_ms(paused, 150.0) == 10_000
    assert s.position_ms(None, 1.0) is None
    assert s.position_ms(Observation(rec(progress=None), at=0.0), 1.0) is None


def test_observation_from_record_uses_fetched_at() -> None:
    fetched = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    obs = Observation.from_record(rec(fetched_at=fetched), clock_now=50.0,
                                  wall_now=fetched + timedelta(seconds=1.5))
    assert obs.at == pytest.approx(48.5)
    assert Observation.from_record(rec(), clock_now=50.0, wall_now=fetched).at == 50.0


@pytest.mark.parametrize("bad", [{"sync_interval": 0}, {"time_scale": -1.0},
                                 {"end_margin": -0.1}, {"jitter": 1.0},
                                 {"sync_interval": float("inf")}, {"sync_backoff": 0.5},
                                 {"fold": 0.9}, {"min_gap": -1.0}])
def test_policy_rejects_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        PollPolicy(**bad)


@pytest.mark.parametrize(("command", "before", "after", "visible"), [
    ("pause", rec(), rec(playing=False), True),
    ("pause", rec(), rec(playing=True), False),
    ("pause", rec(), None, True),
    ("play", rec(playing=False), rec(playing=True), True),
    ("play", rec(playing=False), rec(playing=False), False),
    ("next", rec(), rec(uri="spotify:track:b"), True),
    ("next", rec(), rec(), False),
    ("previous", rec(progress=90_000), rec(progress=100), True),
    ("previous", rec(progress=90_000), rec(progress=91_000), False),
    ("next", None, rec(), True),
])
def test_command_visible(command: str, before: Any, after: Any, visible: bool) -> None:
    assert command_visible(command, before, after) is visible


# --- a whole session on a simulated player: the figures the issue asks for -------------------


class SimPlayer:
    """A player that runs through `durations` (ms) back to back on a fake wall clock; with
    `played` (ms), item i is skipped on another device after `played[i]` of it."""

    def __init__(self, durations: list[int], speed: float, played: list[int] | None = None) -> None:
        self.durations = durations
        self.speed = speed
        self.starts = [0.0]
        for d in played if played is not None else durations:
            self.starts.append(self.starts[-1] + d / 1000.0 / speed)

    def at(self, t: float) -> dict[str, Any] | None:
        for i, d in enumerate(self.durations):
            if self.starts[i] <= t < self.starts[i + 1]:
                progress = int((t - self.starts[i]) * 1000 * self.speed)
                return rec(uri=f"spotify:track:{i}", progress=progress, duration=d)
        return None


def simulate(player: SimPlayer, s: PollScheduler, latency: float) -> tuple[int, dict[str, float]]:
    """Poll `player` on `s`'s schedule to the end; the polls made and when each item was first seen."""
    t, previous, polls = 0.0, None, 0
    seen_at: dict[str, float] = {}
    while t < player.starts[-1]:
        record = player.at(t)
        polls += 1
        obs = Observation(record, t + latency)
        if record is not None:
            seen_at.setdefault(record["item_uri"], t + latency)
        t += latency + s.after_poll(obs, previous, now=t + latency)
        previous = obs
    return polls, seen_at


@pytest.mark.parametrize("speed", [1.0, 30.0])
def test_at_most_three_calls_per_track_and_a_short_delay_on_a_simulated_session(speed: float) -> None:
    durations = [184_000, 231_500, 156_000, 263_333, 95_000, 402_066]
    player = SimPlayer(durations, speed)
    # the sync interval (another device's changes) is wall-clock time; at 30x it never fires, in
    # real time a 30 s sync would add duration/30 s polls per track (see the benchmark)
    s = sched(sync_interval=10_000.0, end_margin=0.5, time_scale=speed)
    polls, seen_at = simulate(player, s, latency=0.002)  # one loopback round trip
    assert polls / len(durations) <= 3
    for i in range(1, len(durations)):
        delay_real = (seen_at[f"spotify:track:{i}"] - player.starts[i]) * speed
        assert 0 <= delay_real <= 1.5


def test_steady_playback_stretches_the_sync_up_to_its_cap() -> None:
    s = sched(sync_interval=30.0, sync_backoff=4.0)
    long = 3_600_000  # an hour-long item: the end is never near
    first = Observation(rec(progress=0, duration=long), at=0.0)
    assert s.after_poll(first, None, now=0.0) == pytest.approx(30.0)
    t, previous, delays = 30.0, first, []
    for _ in range(4):
        obs = Observation(rec(progress=int(t * 1000), duration=long), at=t)
        delay = s.after_poll(obs, previous, now=t)
        delays.append(delay)
        t, previous = t + delay, obs
    assert delays == pytest.approx([60.0, 120.0, 120.0, 120.0])


def test_anything_unexpected_brings_the_sync_back_to_its_base() -> None:
    s = classic()
    long = 3_600_000
    a = Observation(rec(progress=0, duration=long), at=0.0)
    s.after_poll(a, None, now=0.0)
    b = Observation(rec(progress=30_000, duration=long), at=30.0)
    assert s.after_poll(b, a, now=30.0) == pytest.approx(60.0)
    seeked = Observation(rec(progress=900_000, duration=long), at=90.0)  # someone scrubbed ahead
    assert s.after_poll(seeked, b, now=90.0) == pytest.approx(30.0)
    c = Observation(rec(progress=930_000, duration=long), at=120.0)
    assert s.after_poll(c, seeked, now=120.0) == pytest.approx(60.0)
    assert s.after_command() == 0.0
    d = Observation(rec(progress=931_000, duration=long, playing=False), at=121.0)
    assert s.after_poll(d, c, now=121.0) == pytest.approx(30.0)  # paused elsewhere: unexpected


def test_a_sync_just_before_the_end_is_folded_into_the_end_poll() -> None:
    s = classic(end_margin=0.5)
    # 36 s left: a sync at 30 s would only see the same item 6 s before the end
    assert s.after_poll(Observation(rec(progress=144_000), at=0.0), None, now=0.0) == pytest.approx(36.5)
    # 40 s left (beyond 1.25 x 30 s): the sync comes first
    s2 = classic(end_margin=0.5)
    assert s2.after_poll(Observation(rec(progress=140_000), at=0.0), None, now=0.0) == pytest.approx(30.0)
    # fold=1 (the default): no gap is ever longer than the sync interval
    s3 = sched(sync_interval=30.0, end_margin=0.5)
    assert s3.after_poll(Observation(rec(progress=144_000), at=0.0), None, now=0.0) == pytest.approx(30.0)


def test_sync_backoff_of_one_keeps_a_fixed_sync() -> None:
    s = sched(sync_interval=30.0, sync_backoff=1.0)
    long = 3_600_000
    a = Observation(rec(progress=0, duration=long), at=0.0)
    s.after_poll(a, None, now=0.0)
    b = Observation(rec(progress=30_000, duration=long), at=30.0)
    assert s.after_poll(b, a, now=30.0) == pytest.approx(30.0)


def test_the_classic_timing_costs_about_three_calls_per_track() -> None:
    """The classic timing (30 s sync, stretching while steady) in a real-time session."""
    durations = [184_000, 231_500, 156_000, 263_333, 95_000, 402_066, 212_000, 205_000]
    player = SimPlayer(durations, 1.0)
    s = classic()
    polls, seen_at = simulate(player, s, latency=0.05)
    assert polls / len(durations) <= 3  # the issue's goal; a fixed 30 s sync costs over 7 here
    for i in range(1, len(durations)):
        assert 0 <= seen_at[f"spotify:track:{i}"] - player.starts[i] <= 1.5


def test_a_natural_track_change_keeps_the_stretched_sync() -> None:
    s = classic(end_margin=0.5)
    a = Observation(rec(uri="spotify:track:a", progress=0, duration=600_000), at=0.0)
    s.after_poll(a, None, now=0.0)
    b = Observation(rec(uri="spotify:track:a", progress=30_000, duration=600_000), at=30.0)
    assert s.after_poll(b, a, now=30.0) == pytest.approx(60.0)
    # the end poll finds the next item just started: as predicted, the sync stays stretched
    near_end = Observation(rec(uri="spotify:track:a", progress=590_000, duration=600_000), at=590.0)
    s.steady = 2
    s.after_poll(near_end, b, now=590.0)
    nxt = Observation(rec(uri="spotify:track:b", progress=400, duration=600_000), at=600.5)
    assert s.after_poll(nxt, near_end, now=600.5) == pytest.approx(120.0)
    # a different item long before the end is a skip on another device: back to the base
    skipped = Observation(rec(uri="spotify:track:c", progress=1_000, duration=600_000), at=700.0)
    assert s.after_poll(skipped, nxt, now=700.0) == pytest.approx(30.0)


def test_watched_defaults_cost_at_most_twenty_calls_per_three_minute_track() -> None:
    player = SimPlayer([180_000] * 6, 1.0)
    polls, seen_at = simulate(player, sched(), latency=0.05)
    assert polls / 6 <= 20
    for i in range(1, 6):  # a natural end: within 1.5 s
        assert 0 <= seen_at[f"spotify:track:{i}"] - player.starts[i] <= 1.5


def test_watched_defaults_show_a_skip_on_another_device_within_the_sync_interval() -> None:
    rng = random.Random(7)
    played = [rng.randrange(5_000, 175_000) for _ in range(40)]
    player = SimPlayer([180_000] * 40, 1.0, played=played)
    _polls, seen_at = simulate(player, sched(), latency=0.05)
    delays = sorted(seen_at[f"spotify:track:{i}"] - player.starts[i] for i in range(1, 40))
    assert delays[-1] <= PollPolicy().sync_interval + 0.05
    assert delays[int(0.95 * len(delays))] <= 10.0
    # the classic timing saw some of the same items late (up to two minutes) or never
    _polls, classic_seen = simulate(player, classic(), latency=0.05)
    late = [i for i in range(1, 40)
            if classic_seen.get(f"spotify:track:{i}", math.inf) - player.starts[i] > 30]
    assert len(late) > 5


# --- attention: nobody watching costs nothing ------------------------------------------------


def test_nobody_watching_means_no_poll_is_due() -> None:
    s = sched()
    assert s.next_due(5.0, watched=True, last_poll=1.0, background=None) == 5.0
    assert s.next_due(5.0, watched=False, last_poll=1.0, background=None) == math.inf
    assert s.next_due(5.0, watched=False, last_poll=None, background=None) == math.inf


def test_background_updates_come_at_most_every_background_seconds() -> None:
    s = sched()
    assert s.next_due(5.0, watched=False, last_poll=1.0, background=300.0) == 301.0
    assert s.next_due(5.0, watched=False, last_poll=None, background=300.0) == 5.0
    # a backoff (or a Retry-After) longer than that still holds
    assert s.next_due(900.0, watched=False, last_poll=1.0, background=300.0) == 900.0


def test_watched_again_polls_at_once_but_not_twice_within_min_gap() -> None:
    s = sched(min_gap=1.0)
    assert s.when_watched(due=500.0, last_poll=100.0, now=400.0) == 400.0
    assert s.when_watched(due=500.0, last_poll=399.5, now=400.0) == 400.5
    assert s.when_watched(due=400.2, last_poll=399.5, now=400.0) == 400.2
    assert s.when_watched(due=500.0, last_poll=None, now=400.0) == 400.0


def test_watched_again_keeps_a_running_backoff() -> None:
    s = sched()
    s.after_error(RateLimited(429, "slow down", retry_after=60.0))
    assert s.when_watched(due=460.0, last_poll=400.0, now=410.0) == 460.0


@pytest.mark.parametrize(("after", "changed"), [
    (rec(progress=70_000), False),                      # 10 s later, on time
    (rec(progress=150_000), True),                      # a seek
    (rec(uri="spotify:track:b", progress=1_000), True),  # another item
    (rec(progress=70_000, playing=False), True),        # paused
    (rec(progress=70_000, device_name="Phone"), True),  # moved to another device
    (None, True),                                       # stopped
])
def test_is_change(after: Any, changed: bool) -> None:
    s = sched()
    before = Observation(rec(progress=60_000, device_name="Kitchen"), at=0.0)
    if after is not None:
        after.setdefault("device_name", "Kitchen")
    assert s.is_change(Observation(after, at=10.0), before) is changed
    assert s.is_change(Observation(after, at=10.0), None) is True
    assert s.is_change(Observation(None, at=10.0), Observation(None, at=0.0)) is False
