"""The client-side rate budget: unthrottled until a 429, then at most 90 % of what drew it."""

from __future__ import annotations

import pytest

from spotkit.metadata.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += seconds
        return False


def test_unthrottled_until_the_first_429() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    for _ in range(500):
        assert pacer.delay() == 0.0
        assert pacer.acquire(clock.wait)
    assert clock.now == 100.0
    assert pacer.budget is None


def test_first_429_waits_retry_after_and_learns_the_budget() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, window=30.0)
    for _ in range(101):           # the server allowed 100; the 101st drew the 429
        pacer.acquire(clock.wait)
        clock.now += 0.01
    pacer.on_rate_limited(retry_after=29)
    assert pacer.budget == 90      # 90 % of the 100 that got through
    assert pacer.rate_limited == 1
    assert pacer.delay() >= 29.0   # Retry-After, or longer: the budget's own wait
    sent = []
    while clock.now < 400:
        pacer.acquire(clock.wait)
        sent.append(clock.now)
        clock.now += 0.01
    # never more than 90 in any rolling window of 30 s (plus the slack for latency)
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + 30.0) <= 90


def test_a_429_after_a_handful_of_calls_only_waits() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    pacer.acquire(clock.wait)
    pacer.on_rate_limited(retry_after=3)
    assert pacer.budget is None   # one call says nothing about the limit: someone else used it
    assert pacer.delay() == pytest.approx(3.0)
    pacer.on_rate_limited(retry_after=None)  # no Retry-After: a tenth of the window
    assert pacer.delay() == pytest.approx(3.0)
    clock.now += 3.0
    assert pacer.delay() == 0.0


def test_later_429s_only_lower_the_budget() -> None:
    clock = Clock()
    pacer = Pacer(50, clock=clock, window=10.0)
    for _ in range(21):
        pacer.acquire(clock.wait)
    pacer.on_rate_limited(retry_after=1)
    assert pacer.budget == 18
    for _ in range(40):
        pacer.acquire(clock.wait)
        clock.now += 0.1
    pacer.on_rate_limited(retry_after=1)
    assert pacer.budget == 14     # a 429 at 17 in the window: 90 % of the 16 let in
    assert pacer.waited > 0


def test_stop_during_a_wait() -> None:
    clock = Clock()
    pacer = Pacer(1, clock=clock)
    assert pacer.acquire(clock.wait)
    assert not pacer.acquire(lambda seconds: True)   # the stop event was set


def test_bad_arguments() -> None:
    for bad in (0, -3, True):
        with pytest.raises(ValueError, match="budget"):
            Pacer(bad)
    with pytest.raises(ValueError, match="window"):
        Pacer(window=0)
    with pytest.raises(ValueError, match="margin"):
        Pacer(margin=1.5)
