"""The now-playing widget's view (ipywidgets without a browser) and a run against the sandbox."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakePlayer

from spotkit.errors import PremiumRequired
from spotkit.widgets import pool
from spotkit.widgets.now_playing import NowPlayingWidget, format_ms
from spotkit.widgets.scheduler import PollPolicy

pytest.importorskip("ipywidgets")


def track(**changes: Any) -> dict[str, Any]:
    record = {"item_type": "track", "item_uri": "spotify:track:a", "name": "Low Tide",
              "artists": "The Paper Boats", "album": "Harbour Lights", "duration_ms": 184_000,
              "progress_ms": 61_000, "is_playing": True, "device_name": "Kitchen",
              "device_type": "Speaker", "image_url": "http://img/a.png",
              "external_url": "https://open.spotify.com/track/a"}
    record.update(changes)
    return record


def make(*records: Any, **kwargs: Any) -> tuple[NowPlayingWidget, FakePlayer]:
    """A widget on a fake client; counted as watched unless `assume_watched=False` (no browser)."""
    client = FakePlayer(*records)
    kwargs.setdefault("controls", True)
    kwargs.setdefault("assume_watched", True)
    widget = NowPlayingWidget(client, autostart=False, fetch_image={"http://img/a.png": b"\x89PNG-a"}.get,
                              **kwargs)
    return widget, client


def test_format_ms() -> None:
    assert format_ms(None) == "-:--"
    assert format_ms(61_999) == "1:01"
    assert format_ms(3_725_000) == "1:02:05"


def test_before_the_first_poll_it_says_loading() -> None:
    widget, client = make(track())
    assert "Loading" in widget._title.value
    assert client.calls == 0
    assert widget.current is None
    assert not widget.running


def test_a_track_shows_title_artists_album_device_progress_art_and_controls() -> None:
    widget, _ = make(track())
    widget.poller.clock = lambda: 1000.0  # no time passes between the poll and the display
    widget.poller.step()
    assert "Low Tide" in widget._title.value
    assert 'target="_blank"' in widget._title.value
    assert widget._subtitle.value == "The Paper Boats — Harbour Lights"
    assert "Playing on Kitchen (Speaker)" in widget._state.value
    assert widget._progress.value == pytest.approx(61_000 / 184_000)
    assert widget._elapsed.value == "1:01 / 3:04"
    assert widget._art.value == b"\x89PNG-a"
    assert widget._art.format == "png"
    assert widget._controls.layout.display == "flex"
    assert widget._toggle.description == "Pause"
    assert widget.current is not None
    assert widget.current["name"] == "Low Tide"
    assert widget.calls == 1
    assert widget.polls == 1


def test_paused_episode_and_ad() -> None:
    widget, _ = make(track(is_playing=False, item_type="episode", name="Episode 12",
                           artists="Spotkit Radio", album="The Sandbox Hour", device_name=None))
    widget.poller.step()
    assert "Paused" in widget._state.value
    assert "on " not in widget._state.value
    assert widget._toggle.description == "Play"
    assert widget._subtitle.value == "Spotkit Radio — The Sandbox Hour"
    ad, _ = make(track(item_type="ad", name=None, item_uri=None, artists=None, album=None,
                       duration_ms=None, image_url=None, external_url=None))
    ad.poller.step()
    assert "Advertisement" in ad._title.value
    assert ad._elapsed.value.endswith("/ -:--")


def test_nothing_playing() -> None:
    widget, _ = make(None)
    widget.poller.step()
    assert "Nothing is playing" in widget._title.value
    assert widget._progress.value == 0.0
    assert widget.current is None


def test_names_are_escaped() -> None:
    widget, _ = make(track(name="<script>x</script>", artists="A & B"))
    widget.poller.step()
    assert "<script>" not in widget._title.value
    assert "&lt;script&gt;" in widget._title.value
    assert widget._subtitle.value.startswith("A &amp; B")


def test_controls_are_hidden_without_the_scope() -> None:
    widget, _ = make(track(), controls=False)
    widget.poller.step()
    assert widget._controls.layout.display == "none"


def test_clicks_only_queue_and_the_worker_runs_them() -> None:
    widget, client = make(track(), track(item_uri="spotify:track:b", name="Lanterns"))
    widget.poller.step()
    client.delay = 1.0  # a slow Spotify
    started = time.monotonic()
    widget._next.click()
    assert time.monotonic() - started < 0.05
    assert client.commands == []
    client.delay = 0.0
    widget.poller.step()
    assert client.commands == ["next"]
    assert "Lanterns" in widget._title.value


def test_a_failed_command_shows_in_the_status_line_and_stays_there() -> None:
    widget, client = make(track())
    client.command_error = PremiumRequired(403, "Player command failed: Premium required",
                                           "PREMIUM_REQUIRED")
    widget.poller.step()
    widget._toggle.click()
    widget.poller.step()
    assert "Premium" in widget._status.value
    assert "Premium" in widget.status
    assert client.calls == 2  # no extra poll: nothing changed at Spotify
    widget.poller.poll_now()
    widget.poller.step()
    assert "Premium" in widget.status  # a poll does not wipe the command's message
    assert not widget._toggle.disabled


def test_the_progress_moves_locally_between_polls() -> None:
    clock = [100.0]
    widget, client = make(track(progress_ms=10_000))
    widget.poller.clock = lambda: clock[0]
    widget.poller.step()
    clock[0] += 2.0
    widget.poller.step()
    assert client.calls == 1
    assert widget._elapsed.value == "0:12 / 3:04"


def test_close_and_comm_close_stop_the_thread() -> None:
    widget, _ = make(track(is_playing=False))
    widget.start()
    assert widget.running
    widget.close()
    assert not widget.running
    assert widget.widget.comm is None
    assert widget._title.comm is None  # the children are closed too
    assert widget._next.comm is None
    with pytest.raises(Exception, match="closed"):
        widget.start()

    other, _ = make(track())
    other.start()
    other.widget.close()  # e.g. Widget.close_all(), or the frontend closing the comm
    deadline = time.monotonic() + 2
    while other.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not other.running


def test_repr_and_mimebundle() -> None:
    widget, _ = make(track())
    assert "stopped" in repr(widget)
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_policy_knobs_reach_the_scheduler() -> None:
    widget, _ = make(track(), sync_interval=12.0, end_margin=0.25, time_scale=20.0)
    assert widget.poller.scheduler.policy == PollPolicy(sync_interval=12.0, end_margin=0.25,
                                                        time_scale=20.0)


# --- watched or not ----------------------------------------------------------------------------


class FakeTime:
    def __init__(self, widget: NowPlayingWidget, start: float = 1000.0) -> None:
        self.now = start
        widget.poller.clock = self

    def __call__(self) -> float:
        return self.now


def view_says(widget: NowPlayingWidget, view: str, watched: bool) -> None:
    """A message from the front-end module, through the sensor's real message handler."""
    widget._sensor._handle_custom_msg({"kind": "watch", "view": view, "watched": watched}, [])


def run_for(widget: NowPlayingWidget, clock: FakeTime, seconds: float) -> None:
    """Step the poller as its thread would, on the fake clock, for `seconds`."""
    end = clock.now + seconds
    while clock.now < end:
        wait = widget.poller.step()
        clock.now = min(end, clock.now + max(wait, 0.01))


def test_nobody_watching_costs_no_call_at_all() -> None:
    widget, client = make(track(duration_ms=10_000_000), assume_watched=False)
    clock = FakeTime(widget)
    assert widget.poller.step() == float("inf")  # the thread sleeps until woken
    run_for(widget, clock, 3600)
    assert client.calls == 0
    assert not widget.watched


def test_watched_it_polls_at_once_hidden_it_stops_shown_again_it_polls_at_once() -> None:
    widget, client = make(track(duration_ms=10_000_000), assume_watched=False)
    clock = FakeTime(widget)
    view_says(widget, "v1", True)
    widget.poller.step()
    assert client.calls == 1
    run_for(widget, clock, 20)  # renewals come every 10 s; the lease is 30 s
    assert client.calls == 1 + 2  # the 9.5 s sync
    view_says(widget, "v1", False)  # scrolled away or tab hidden
    calls = client.calls
    run_for(widget, clock, 600)
    assert client.calls == calls
    view_says(widget, "v1", True)
    widget.poller.step()
    assert client.calls == calls + 1


def test_a_view_that_falls_silent_stops_counting_after_its_lease() -> None:
    widget, client = make(track(duration_ms=10_000_000), assume_watched=False)
    clock = FakeTime(widget)
    view_says(widget, "v1", True)  # then the laptop sleeps: no renewal, no "hidden" either
    run_for(widget, clock, 3600)
    assert client.calls == 4  # at once, then every 9.5 s until the 30 s lease ran out
    assert not widget.watched


def test_background_asks_every_few_minutes_while_nobody_watches() -> None:
    widget, client = make(track(duration_ms=10_000_000), assume_watched=False, background=True)
    clock = FakeTime(widget)
    run_for(widget, clock, 3600)
    assert client.calls == 12  # at once, then every 300 s: 0, 300, ... 3300
    with pytest.raises(ValueError, match="background"):
        make(track(), background=5)


def test_widgets_of_one_client_share_one_poller() -> None:
    before = pool.shared()
    client = FakePlayer(track(duration_ms=10_000_000))
    one = NowPlayingWidget(client, autostart=False, fetch_image=lambda url: None)
    two = NowPlayingWidget(client, autostart=False, fetch_image=None)
    assert one.poller is not two.poller  # another image fetcher: another poller
    three = NowPlayingWidget(client, autostart=False, fetch_image=None)
    assert three.poller is two.poller
    assert pool.shared() == before + 2
    clock = FakeTime(two)
    view_says(three, "v3", True)
    two.poller.step()
    assert client.calls == 1
    assert "Low Tide" in two._title.value
    assert "Low Tide" in three._title.value
    three.close()  # the card watched is gone: nobody watches the shared poller any more
    run_for(two, clock, 600)
    assert client.calls == 1
    two.close()
    one.close()
    assert pool.shared() == before


def test_on_change_calls_back_on_changes_only_and_works_without_a_view() -> None:
    widget, _client = make(track(progress_ms=10_000), track(progress_ms=19_000),
                           track(item_uri="spotify:track:b", name="Lanterns", progress_ms=1_000))
    clock = FakeTime(widget)
    seen: list[Any] = []
    widget.on_change(lambda record: seen.append(record and record["name"]))
    widget.poller.step()
    clock.now += 10
    widget.poller.step()  # on time: no change
    clock.now += 10
    widget.poller.step()  # skipped on another device
    assert seen == ["Low Tide", "Lanterns"]
    widget.on_change(seen.append, remove=True)


def test_a_failing_on_change_callback_is_ignored() -> None:
    widget, client = make(track())

    def broken(record: Any) -> None:
        raise RuntimeError("bug in user code")

    widget.on_change(broken)
    widget.poller.step()
    assert widget.current is not None
    assert client.calls == 1


def test_malformed_watch_reports_are_ignored() -> None:
    widget, client = make(track(), assume_watched=False)
    for content in ({"kind": "watch", "view": 3, "watched": True},
                    {"kind": "watch", "view": "v", "watched": "yes"},
                    {"kind": "other"}, ["not", "a", "dict"]):
        widget._sensor._handle_custom_msg(content, [])
    widget.poller.step()
    assert client.calls == 0


# --- against the sandbox -----------------------------------------------------------------------


def _client(sb: Any, tmp_path: Path) -> Any:
    from spotkit.auth.cache import TokenCache
    from spotkit.auth.token import Token
    from spotkit.client import Spotify
    from spotkit.config import load_settings

    env = {**sb.env, "SPOTKIT_CACHE_PATH": str(tmp_path / "tokens.json")}
    settings = load_settings(env=env, dotenv=False)
    TokenCache(settings.cache_path).save(sb.client_id, sb.user["id"],
                                         Token.from_response(sb.issue_token()))
    return Spotify(settings)


def test_against_the_sandbox_one_call_per_track_and_controls(spotify_sandbox: Any,
                                                             tmp_path: Path) -> None:
    sb = spotify_sandbox
    sb.set_speed(40.0)
    queue = sb.track_uris
    sb.set_playing(queue[0], progress_ms=184_000 - 40_000)  # 1 s of wall time left
    client = _client(sb, tmp_path)
    widget = NowPlayingWidget(client, time_scale=40.0, assume_watched=True)
    try:
        deadline = time.monotonic() + 10
        while (widget.current is None or widget.current["item_uri"] != queue[1]) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        assert widget.current is not None
        assert widget.current["item_uri"] == queue[1]
        assert sb.counts().get("GET /v1/me/player") == 2  # the first look, then the track end
        assert widget._controls.layout.display == "flex"
        widget._toggle.click()
        deadline = time.monotonic() + 5
        while widget.current["is_playing"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sb.state()["player"]["is_playing"] is False
        assert widget._toggle.description == "Play"
    finally:
        widget.close()
        client.close()


def test_a_card_stopped_and_started_again_remembers_its_watching_views() -> None:
    widget, client = make(track(duration_ms=10_000_000), assume_watched=False)
    view_says(widget, "v1", True)
    widget.poller.step()
    assert client.calls == 1
    widget.stop()
    assert not widget.running
    widget.start()  # a new poller: the view that said "watched" a moment ago still counts
    try:
        assert widget.watched
    finally:
        widget.close()
