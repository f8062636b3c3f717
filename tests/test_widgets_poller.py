"""The now-playing engine: polls, ticks, commands and errors, driven step by step with a fake
clock, and its thread's life (start, stop, never blocking a click)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fakes import FakeAuth, FakePlayer, PlayerAnswer

from spotkit import _runtime
from spotkit.errors import (
    LoginRequired,
    MissingScope,
    NetworkError,
    NoActiveDevice,
    PremiumRequired,
    QuotaExceeded,
    RateLimited,
    ServerError,
)
from spotkit.widgets.poller import NowPlayingPoller, PlayerView
from spotkit.widgets.scheduler import PollPolicy, PollScheduler
from spotkit.widgets.status import describe_error


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def track(uri: str = "spotify:track:a", progress: int = 60_000, duration: int = 180_000,
          playing: bool = True, image: str | None = "http://art/a.png") -> dict[str, Any]:
    return {"item_uri": uri, "item_type": "track", "name": uri.rsplit(":", 1)[-1],
            "progress_ms": progress, "duration_ms": duration, "is_playing": playing,
            "image_url": image, "artists": "X", "album": "Y", "device_name": "Desk"}


class FakeClient(FakePlayer):
    """Logged in with the control scope unless `auth` says otherwise."""

    def __init__(self, *answers: PlayerAnswer, auth: FakeAuth | None = None) -> None:
        super().__init__(*answers, auth=auth if auth is not None else FakeAuth())


def make(client: Any, clock: Clock | None = None, images: dict[str, bytes] | None = None,
         **policy: Any) -> tuple[NowPlayingPoller, list[PlayerView]]:
    views: list[PlayerView] = []
    policy.setdefault("sync_interval", 30.0)
    poller = NowPlayingPoller(
        client, on_update=views.append, scheduler=PollScheduler(PollPolicy(**policy)),
        clock=clock or Clock(), tick_interval=0.5,
        fetch_image=(images or {"http://art/a.png": b"PNG-A"}).get)
    return poller, views


def test_first_step_polls_shows_the_record_and_fetches_the_art() -> None:
    clock = Clock()
    client = FakeClient(track(progress=170_000))
    poller, views = make(client, clock, sync_interval=300.0)
    wait = poller.step()
    assert client.calls == 1
    assert poller.polls == 1
    assert poller.calls == 1
    assert poller.current is not None
    assert poller.current["item_uri"] == "spotify:track:a"
    last = views[-1]
    assert last.loaded
    assert last.record is poller.current
    assert last.position_ms == 170_000
    assert last.image == b"PNG-A"
    assert last.can_control is True
    assert wait == pytest.approx(0.5)  # the progress tick comes before the poll at t+10.5


def test_ticks_move_the_progress_without_calling_the_api() -> None:
    clock = Clock()
    client = FakeClient(track(progress=170_000))
    poller, views = make(client, clock, sync_interval=300.0)
    poller.step()
    for _ in range(4):
        clock.t += 0.5
        poller.step()
    assert client.calls == 1
    assert [v.position_ms for v in views[-4:]] == [170_500, 171_000, 171_500, 172_000]


def test_the_next_poll_comes_at_the_expected_end() -> None:
    clock = Clock()
    client = FakeClient(track(progress=170_000), track(uri="spotify:track:b", progress=400))
    poller, views = make(client, clock, sync_interval=300.0, end_margin=0.5)
    poller.step()
    clock.t += 10.4
    poller.step()
    assert client.calls == 1
    clock.t += 0.1
    poller.step()
    assert client.calls == 2
    assert views[-1].record is not None
    assert views[-1].record["item_uri"] == "spotify:track:b"


def test_paused_waits_for_the_sync_interval_and_does_not_tick() -> None:
    clock = Clock()
    client = FakeClient(track(playing=False))
    poller, views = make(client, clock, sync_interval=30.0)
    assert poller.step() == pytest.approx(30.0)
    count = len(views)
    clock.t += 29.0
    poller.step()
    assert len(views) == count
    assert client.calls == 1


def test_nothing_playing_is_a_record_of_none() -> None:
    poller, views = make(FakeClient(None))
    poller.step()
    assert poller.current is None
    assert views[-1].loaded
    assert views[-1].record is None


def test_a_command_runs_in_the_worker_and_polls_at_once() -> None:
    clock = Clock()
    client = FakeClient(track(), track(uri="spotify:track:b", progress=0))
    poller, views = make(client, clock)
    poller.step()
    poller.request("next")
    poller.step()
    assert client.commands == ["next"]
    assert poller.current is not None
    assert poller.current["item_uri"] == "spotify:track:b"
    assert poller.calls == 3
    assert any(v.busy == "next" for v in views)
    assert views[-1].busy is None


def test_toggle_pauses_when_playing_and_plays_when_paused() -> None:
    client = FakeClient(track(playing=True), track(playing=False), track(playing=True))
    poller, _ = make(client)
    poller.step()
    poller.request("toggle")
    poller.step()
    poller.request("toggle")
    poller.step()
    assert client.commands == ["pause", "play"]


def test_a_command_that_does_not_show_yet_is_checked_again_soon() -> None:
    clock = Clock()
    # Spotify applies commands asynchronously: the poll right after "next" still shows track a
    client = FakeClient(track(progress=0), track(progress=10), track(uri="spotify:track:b"))
    poller, _ = make(client, clock, sync_interval=300.0, confirm_delay=1.0)
    poller.step()
    poller.request("next")
    poller.step()
    assert client.calls == 3  # poll, next, poll
    clock.t += 1.0
    poller.step()
    assert client.calls == 4
    assert poller.current is not None
    assert poller.current["item_uri"] == "spotify:track:b"


@pytest.mark.parametrize(("error", "text"), [
    (PremiumRequired(403, "Player command failed: Premium required", "PREMIUM_REQUIRED"),
     "Premium is required"),
    (NoActiveDevice(404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE"),
     "No active device"),
])
def test_command_failures_show_in_the_status_line(error: Exception, text: str) -> None:
    client = FakeClient(track())
    client.command_error = error
    poller, views = make(client)
    poller.step()
    poller.request("next")
    poller.step()
    statuses = [v.status for v in views]
    assert any(text in s for s in statuses)
    assert any(v.status_kind == "warning" for v in views)
    assert views[-1].busy is None


def test_a_rate_limit_shows_and_backs_off_at_least_retry_after() -> None:
    clock = Clock()
    client = FakeClient(RateLimited(429, "Too many requests", retry_after=7.0), track())
    poller, views = make(client, clock)
    wait = poller.step()
    assert "slow down" in views[-1].status
    assert wait >= 7.0
    clock.t += 6.9
    poller.step()
    assert client.calls == 1
    clock.t += wait - 6.9
    poller.step()
    assert client.calls == 2
    assert views[-1].status == ""
    assert views[-1].loaded


def test_network_errors_back_off_exponentially() -> None:
    clock = Clock()
    client = FakeClient(NetworkError("GET /me/player could not connect"))
    poller, views = make(client, clock, backoff_initial=2.0, jitter=0.0)
    waits = []
    for _ in range(4):
        wait = poller.step()
        waits.append(wait)
        clock.t += wait
    assert waits == pytest.approx([2.0, 4.0, 8.0, 16.0])
    assert "cannot be reached" in views[-1].status
    assert views[-1].status_kind == "error"


def test_not_logged_in_asks_for_the_login_button_and_picks_it_up_later() -> None:
    clock = Clock()
    client = FakeClient(LoginRequired("No Spotify login is cached"), track())
    poller, views = make(client, clock, login_retry=5.0)
    assert poller.step() == pytest.approx(5.0)
    assert "login_button" in views[-1].status
    clock.t += 5.0
    poller.step()
    assert poller.current is not None
    assert views[-1].status == ""


def test_without_the_playback_scope_it_falls_back_to_currently_playing() -> None:
    class Client(FakeClient):
        def playback(self) -> Any:
            raise MissingScope("no", missing=("user-read-playback-state",))

    client = Client(track())
    poller, _ = make(client)
    poller.step()
    assert client.now_playing_used == 1
    assert poller.current is not None


def test_controls_follow_the_token_scope() -> None:
    poller, views = make(FakeClient(track(), auth=FakeAuth(scopes=("user-read-playback-state",))))
    poller.step()
    assert views[-1].can_control is False


def test_a_client_factory_error_shows_in_the_status() -> None:
    from spotkit.errors import ConfigError

    def factory() -> Any:
        raise ConfigError("No Spotify client id is configured.")

    poller, views = make(factory)
    poller.step()
    assert "client id" in views[-1].status


def test_unknown_command_is_a_value_error() -> None:
    poller, _ = make(FakeClient(track()))
    with pytest.raises(ValueError, match="unknown command"):
        poller.request("shuffle")


def test_error_texts_never_leak_a_token() -> None:
    text, _ = describe_error(RuntimeError("failed with Authorization: Bearer abc.def-123"))
    assert "abc.def-123" not in text
    text, kind = describe_error(ServerError(502, "Bad gateway"), 4.0)
    assert "502" in text
    assert "4 s" in text
    assert kind == "error"
    text, _ = describe_error(QuotaExceeded(429, "quota", "QUOTA_EXCEEDED"), 600.0)
    assert "QUOTA_EXCEEDED" in text
    assert "10 min" in text


# --- the thread ------------------------------------------------------------------------------


def test_the_thread_polls_stops_at_once_and_never_renders_after_stop() -> None:
    client = FakeClient(track(progress=0, duration=600_000))
    views: list[PlayerView] = []
    poller = NowPlayingPoller(client, on_update=views.append, tick_interval=0.05,
                              fetch_image=lambda url: None)
    poller.start()
    deadline = time.monotonic() + 5
    while poller.polls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert poller.running
    assert poller.polls == 1
    thread = poller._thread
    assert thread is not None
    assert thread.daemon
    started = time.monotonic()
    poller.stop()
    assert time.monotonic() - started < 0.5
    assert not thread.is_alive()
    assert not poller.running
    count = len(views)
    time.sleep(0.2)
    assert len(views) == count
    poller.start()  # restartable
    poller.stop()


def test_a_click_never_waits_for_spotify() -> None:
    client = FakeClient(track())
    poller = NowPlayingPoller(client, on_update=lambda v: None, fetch_image=lambda url: None)
    poller.start()
    try:
        time.sleep(0.1)
        client.delay = 1.0  # Spotify is slow now
        started = time.monotonic()
        poller.request("next")
        poller.request("pause")
        assert time.monotonic() - started < 0.05
    finally:
        started = time.monotonic()
        poller.stop(timeout=0.2)  # stop does not wait out a slow request either
        assert time.monotonic() - started < 0.5


def test_a_renderer_bug_does_not_end_the_thread() -> None:
    client = FakeClient(track(playing=False), track(uri="spotify:track:b", playing=False))

    def broken(view: PlayerView) -> None:
        raise RuntimeError("render bug")

    poller = NowPlayingPoller(client, on_update=broken, fetch_image=lambda url: None)
    poller.start()
    try:
        time.sleep(0.1)
        poller.poll_now()
        time.sleep(0.1)
        assert poller.running
        assert poller.polls == 2
    finally:
        poller.stop()


def test_running_pollers_are_stopped_at_exit() -> None:
    poller = NowPlayingPoller(FakeClient(track()), on_update=lambda v: None,
                              fetch_image=lambda url: None)
    poller.start()
    assert poller in list(_runtime._owners)
    _runtime._stop_all()
    assert not poller.running
    thread = poller._thread
    assert thread is not None
    thread.join(1)
    assert not thread.is_alive()


def test_only_one_thread_however_often_start_is_called() -> None:
    poller = NowPlayingPoller(FakeClient(track()), on_update=lambda v: None,
                              fetch_image=lambda url: None)
    try:
        before = threading.active_count()
        for _ in range(5):
            poller.start()
        assert threading.active_count() == before + 1
    finally:
        poller.stop()


# --- attention ------------------------------------------------------------------------------------


def test_without_a_watcher_nothing_is_asked_or_ticked_and_a_watcher_brings_both_back() -> None:
    from spotkit.widgets.attention import Attention

    clock = Clock()
    client = FakeClient(track(progress=10_000))
    views: list[PlayerView] = []
    poller = NowPlayingPoller(client, on_update=views.append, clock=clock, attention=Attention(),
                              scheduler=PollScheduler(PollPolicy()), fetch_image=lambda url: None)
    poller.join("card")
    poller.report("card", "view-1", True)
    poller.step()
    clock.t += 0.5
    poller.step()
    assert client.calls == 1
    assert views[-1].position_ms == 10_500
    poller.report("card", "view-1", False)
    shown = len(views)
    for _ in range(100):
        clock.t += 0.5
        assert poller.step() == float("inf")
    assert client.calls == 1
    assert len(views) == shown  # no tick either: nobody would see it
    poller.report("card", "view-1", True)
    poller.step()
    assert client.calls == 2  # at once
    assert poller.leave("card") == 0
    assert not poller.watched


def test_a_command_is_confirmed_by_a_poll_even_when_nobody_watches() -> None:
    from spotkit.widgets.attention import Attention

    clock = Clock()
    client = FakeClient(track(uri="spotify:track:b"))
    poller = NowPlayingPoller(client, on_update=lambda v: None, clock=clock, attention=Attention(),
                              fetch_image=lambda url: None)
    poller.request("next")
    poller.step()
    assert client.commands == ["next"]
    assert poller.polls == 1  # whoever sent it sees its effect
    assert poller.current is not None
    assert client.calls == 2
