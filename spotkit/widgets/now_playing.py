"""`NowPlayingWidget`: album art, title, artists, device, a moving progress bar and controls.

The widget is a view over a :class:`~spotkit.widgets.poller.NowPlayingPoller`, shared by all the
widgets of one client in the kernel (:mod:`spotkit.widgets.pool`): the poller's background thread
calls :meth:`NowPlayingWidget._render` with a snapshot, and rendering only sets widget values
(ipywidgets sends them to the browser from any thread). Clicks run in the kernel thread and only
queue a command. Nothing here prints, displays or raises into the notebook after construction.

The card is made of ipywidgets' stock controls (their look, their text for screen readers) plus an
invisible :class:`~spotkit.widgets.watch.WatchSensor`, whose reports (the card on screen in a
visible tab) decide whether the poller calls Spotify at all.
"""

from __future__ import annotations

import html
import math
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from .. import _runtime
from ..errors import SpotkitError
from . import pool
from .attention import DEFAULT_LEASE, Attention
from .images import ImageFetcher
from .poller import ChangeListener, NowPlayingPoller, PlayerClient, PlayerView
from .scheduler import PollPolicy, PollScheduler

__all__ = ["BACKGROUND_DEFAULT", "BACKGROUND_MIN", "NowPlayingWidget", "format_ms"]

#: Seconds between background updates with ``background=True``.
BACKGROUND_DEFAULT = 300.0
#: The shortest background interval allowed, in seconds.
BACKGROUND_MIN = 60.0

_ART_PX = 120
_COLORS = {"info": "#555", "warning": "#a35f00", "error": "#b00020"}


def format_ms(ms: int | None) -> str:
    """`m:ss` (or `h:mm:ss`) for a number of milliseconds; `-:--` when unknown."""
    if ms is None or ms < 0:
        return "-:--"
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _placeholder_png(size: int = 8, rgb: tuple[int, int, int] = (224, 224, 224)) -> bytes:
    """A small flat grey PNG shown before (or instead of) album art."""
    row = b"\x00" + bytes(rgb) * size
    raw = row * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


_PLACEHOLDER = _placeholder_png()


def _image_format(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"GIF8"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "jpeg"


class NowPlayingWidget:
    """A live now-playing card for a notebook cell. Display it by leaving it last in a cell.

    While somebody watches it (the card on screen, in a visible browser tab), it asks Spotify at
    each item's expected end plus `end_margin` seconds of playback and every `sync_interval`
    seconds of wall time (another device's skip, pause or seek shows within that), and the
    progress bar moves locally every `tick_interval` seconds in between. While nobody watches
    (scrolled away, tab hidden, laptop asleep, never displayed) it sends no request at all,
    unless `background` asks for one every so often; when watched again it asks at once.
    See :class:`~spotkit.widgets.scheduler.PollScheduler` for the rules.

    Args:
        client: a :class:`spotkit.Spotify` (default: one made from the environment, in the
            background thread, so a missing login shows in the widget). Widgets of the same
            client and timing share one poller: several cards cost the requests of one.
        sync_interval: seconds between checks for changes made elsewhere, while watched.
        end_margin: seconds of playback after an item's expected end to ask for the next one.
        time_scale: how much faster than real time playback runs: 1.0 for Spotify, the sandbox's
            speed factor for a time-compressed sandbox (the tutorials pass `quickstart().speed`).
        tick_interval: seconds between local progress updates.
        controls: show previous / play-pause / next (default: when the login has the
            user-modify-playback-state scope).
        autostart: start at once.
        background: keep `.current` and `on_change` callbacks up to date while nobody watches,
            with one request every `background` seconds of playback (`True`: every
            5 minutes; at least 60 s). Default: no request while nobody watches.
        assume_watched: count as watched without any view, for code that reads `.current` or
            `on_change` in a kernel without a front end (a script, a scheduled notebook).
        policy: all the timing knobs at once (overrides the three above).
        fetch_image: a function from an image URL to its bytes (default: a small cache).

    Raises:
        ValueError: `background` is not a number of seconds >= 60 (or a bool).

    `.current` is the latest now-playing record (a dict, see :mod:`spotkit.records`) or None;
    `.on_change(callback)` calls back on each change; `.calls` counts the API requests of the
    (shared) poller; `.stop()` detaches this card (closing the widget and interpreter exit do
    too); `.start()` attaches it again; `.refresh()` asks now, watched or not.
    """

    def __init__(self, client: PlayerClient | None = None, *, sync_interval: float = 9.5,
                 end_margin: float = 0.5, time_scale: float = 1.0, tick_interval: float = 0.5,
                 controls: bool | None = None, autostart: bool = True,
                 background: float | bool = False, assume_watched: bool = False,
                 policy: PollPolicy | None = None,
                 fetch_image: Callable[[str], bytes | None] | None = None) -> None:
        import ipywidgets as w

        from .watch import WatchSensor

        if policy is None:
            policy = PollPolicy(sync_interval=sync_interval, end_margin=end_margin,
                                time_scale=time_scale)
        self._background = _background_seconds(background, policy.time_scale)
        self._assume_watched = bool(assume_watched)
        self._owner = uuid.uuid4().hex
        self._key: Hashable = (id(client) if client is not None else "default", policy,
                               float(tick_interval), controls,
                               id(fetch_image) if fetch_image is not None else None)

        def make() -> NowPlayingPoller:
            source: PlayerClient | Callable[[], PlayerClient] = (
                client if client is not None else _default_client)
            return NowPlayingPoller(
                source, scheduler=PollScheduler(policy), tick_interval=tick_interval,
                control=controls, attention=Attention(),
                fetch_image=fetch_image if fetch_image is not None else ImageFetcher())

        self._make = make
        self._poller = pool.acquire(self._key, self._owner, make, always=self._assume_watched,
                                    background=self._background)
        self._attached = True
        self._change_callbacks: list[ChangeListener] = []
        # the views that last said they are watched, and when (kernel clock)
        self._views: dict[str, float] = {}
        self._lock = threading.RLock()
        self._closed = False
        self._shown_image_url: str | None = ""

        self._art = w.Image(value=_PLACEHOLDER, format="png",
                            layout=w.Layout(width=f"{_ART_PX}px", height=f"{_ART_PX}px",
                                            min_width=f"{_ART_PX}px", object_fit="cover",
                                            margin="0 12px 0 0"))
        self._art.add_class("spotkit-np-art")
        self._title = w.HTML("<b>Loading…</b>")
        self._title.add_class("spotkit-np-title")
        self._subtitle = w.HTML("")
        self._subtitle.add_class("spotkit-np-subtitle")
        self._state = w.HTML("")
        self._state.add_class("spotkit-np-state")
        self._progress = w.FloatProgress(value=0.0, min=0.0, max=1.0,
                                         layout=w.Layout(width="260px"))
        self._progress.add_class("spotkit-np-progress")
        self._elapsed = w.Label("-:-- / -:--")
        self._elapsed.add_class("spotkit-np-elapsed")
        self._prev = w.Button(description="Previous", icon="step-backward",
                              tooltip="Previous", layout=w.Layout(width="auto"))
        self._prev.add_class("spotkit-np-prev")
        self._toggle = w.Button(description="Play", icon="play", tooltip="Play / pause",
                                layout=w.Layout(width="auto"))
        self._toggle.add_class("spotkit-np-toggle")
        self._next = w.Button(description="Next", icon="step-forward", tooltip="Next",
                              layout=w.Layout(width="auto"))
        self._next.add_class("spotkit-np-next")
        self._prev.on_click(lambda _b: self._command("previous"))
        self._toggle.on_click(lambda _b: self._command("toggle"))
        self._next.on_click(lambda _b: self._command("next"))
        self._controls = w.HBox([self._prev, self._toggle, self._next],
                                layout=w.Layout(display="none"))
        self._controls.add_class("spotkit-np-controls")
        self._status = w.HTML("")
        self._status.add_class("spotkit-np-status")
        details = w.VBox([
            self._title, self._subtitle, self._state,
            w.HBox([self._progress, self._elapsed], layout=w.Layout(align_items="center")),
            self._controls, self._status,
        ], layout=w.Layout(justify_content="center"))
        self._sensor = WatchSensor(layout=w.Layout(display="none"))
        self._sensor.on_watch(self._on_watch)
        self.widget = w.HBox([self._art, details, self._sensor],
                             layout=w.Layout(align_items="center", padding="10px",
                                             border="1px solid #e0e0e0", width="fit-content"))
        self.widget.add_class("spotkit-now-playing")
        # whoever closes the widget (close(), Widget.close_all(), the frontend) stops the thread
        self.widget.observe(self._on_comm_change, names="comm")
        self._poller.add_listener(self._render)
        self._render(self._poller.view)
        if autostart:
            self._poller.start()

    # --- public -------------------------------------------------------------------------------

    @property
    def current(self) -> Mapping[str, Any] | None:
        """The latest now-playing record, or None (nothing plays, or no poll succeeded yet)."""
        return self._poller.current

    @property
    def calls(self) -> int:
        """Web API requests sent by this card's poller (polls, commands, their retries and
        refreshes), which every card of the same client and timing shares.

        Read from the client's own counter around each call, so a request that another thread
        sends through the same client at that very moment would count too.
        """
        return self._poller.calls

    @property
    def polls(self) -> int:
        """Successful polls so far."""
        return self._poller.polls

    @property
    def running(self) -> bool:
        """Whether this card is attached to a running poller (watched or not)."""
        return self._attached and self._poller.running

    @property
    def watched(self) -> bool:
        """Whether somebody watches this card or another one sharing its poller now."""
        return self._attached and self._poller.watched

    @property
    def status(self) -> str:
        """The status line's text ("" when all is well)."""
        return self._poller.view.status

    @property
    def poller(self) -> NowPlayingPoller:
        """The engine (for benchmarks and tests)."""
        return self._poller

    def on_change(self, callback: ChangeListener, remove: bool = False) -> None:
        """Call `callback(record)` when what plays changes: another item, device or play state,
        or a seek (`record` is None when nothing plays). It runs in a background thread, so it
        should not print or display; an exception in it is logged and ignored.

        Args:
            callback: a function of one argument, the new now-playing record.
            remove: stop calling `callback` instead.
        """
        with self._lock:
            if remove:
                self._change_callbacks = [c for c in self._change_callbacks if c is not callback]
                self._poller.remove_change_listener(callback)
                return
            self._change_callbacks.append(callback)
            if self._attached:
                self._poller.add_change_listener(callback)

    def start(self) -> None:
        """Attach this card to its (shared) poller again and start it; returns at once."""
        if self._closed:
            raise SpotkitError("This widget was closed; create a new NowPlayingWidget.")
        with self._lock:
            if not self._attached:
                self._poller = pool.acquire(self._key, self._owner, self._make,
                                            always=self._assume_watched,
                                            background=self._background)
                self._poller.add_listener(self._render)
                for callback in self._change_callbacks:
                    self._poller.add_change_listener(callback)
                recent = time.monotonic() - DEFAULT_LEASE
                for view, said_at in self._views.items():
                    if said_at > recent:
                        self._poller.report(self._owner, view, True)
                self._attached = True
        self._poller.start()

    def stop(self, timeout: float | None = 1.0) -> None:
        """Detach this card: it keeps showing the last state and costs nothing. The shared
        poller stops when no card is attached to it any more."""
        with self._lock:
            if not self._attached:
                return
            self._attached = False
            self._poller.remove_listener(self._render)
            for callback in self._change_callbacks:
                self._poller.remove_change_listener(callback)
        pool.release(self._key, self._owner, timeout=timeout)

    def refresh(self) -> None:
        """Ask Spotify now, watched or not (e.g. after changing playback elsewhere)."""
        self._poller.poll_now()

    def close(self) -> None:
        """Stop polling and remove the widget from the page."""
        self._closed = True
        self.stop(timeout=1.0)
        with self._lock:
            _runtime.close_widget_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        if self.running:
            state += ", watched" if self.watched else ", not watched"
        return f"NowPlayingWidget({state}, polls={self.polls}, calls={self.calls})"

    # --- kernel-thread callbacks --------------------------------------------------------------

    def _command(self, command: str) -> None:
        self._poller.request(command)

    def _on_watch(self, view: str, watched: bool) -> None:
        with self._lock:
            if watched:
                self._views[view] = time.monotonic()
            else:
                self._views.pop(view, None)
            if self._attached:
                self._poller.report(self._owner, view, watched)

    def _on_comm_change(self, change: Mapping[str, Any]) -> None:
        if change.get("new") is None:
            self._closed = True
            self.stop(timeout=0)

    # --- rendering (worker thread) ------------------------------------------------------------

    def _render(self, view: PlayerView) -> None:
        with self._lock:
            if self._closed:
                return
            self._render_item(view)
            self._render_progress(view)
            self._render_controls(view)
            self._render_status(view)
            if view.image_url != self._shown_image_url and (view.image is not None
                                                            or view.image_url is None):
                data = view.image or _PLACEHOLDER
                self._art.format = _image_format(data)
                self._art.value = data
                self._shown_image_url = view.image_url

    def _render_item(self, view: PlayerView) -> None:
        record = view.record
        if not view.loaded:
            title, subtitle, state = "Loading…", "", ""
        elif record is None:
            title, subtitle, state = "Nothing is playing", "", "Start Spotify on a device."
        else:
            kind = record.get("item_type")
            name = record.get("name")
            if kind == "ad":
                name = name or "Advertisement"
            title = str(name) if name else "(unknown item)"
            parts = [str(p) for p in (record.get("artists"), record.get("album")) if p]
            subtitle = " — ".join(parts)
            playing = record.get("is_playing") is True
            state = "▶ Playing" if playing else "❚❚ Paused"
            device = record.get("device_name")
            if device:
                device_type = record.get("device_type")
                state += f" on {device}" + (f" ({device_type})" if device_type else "")
        link = record.get("external_url") if record is not None else None
        title_html = f"<b>{html.escape(title)}</b>"
        if isinstance(link, str) and link.startswith("https://"):
            title_html = (f'<a href="{html.escape(link, quote=True)}" target="_blank" '
                          f'rel="noopener">{title_html}</a>')
        self._title.value = f'<span style="font-size:1.15em">{title_html}</span>'
        self._subtitle.value = html.escape(subtitle)
        self._state.value = f'<span style="color:#555">{html.escape(state)}</span>'

    def _render_progress(self, view: PlayerView) -> None:
        record = view.record
        duration = record.get("duration_ms") if record is not None else None
        position = view.position_ms
        if isinstance(duration, int) and duration > 0 and position is not None:
            self._progress.value = max(0.0, min(1.0, position / duration))
        else:
            self._progress.value = 0.0
        total = duration if isinstance(duration, int) else None
        self._elapsed.value = f"{format_ms(position)} / {format_ms(total)}"

    def _render_controls(self, view: PlayerView) -> None:
        self._controls.layout.display = "flex" if view.can_control else "none"
        playing = view.record is not None and view.record.get("is_playing") is True
        self._toggle.description = "Pause" if playing else "Play"
        self._toggle.icon = "pause" if playing else "play"
        busy = view.busy is not None
        for button in (self._prev, self._toggle, self._next):
            button.disabled = busy

    def _render_status(self, view: PlayerView) -> None:
        if not view.status:
            self._status.value = ""
            return
        color = _COLORS.get(view.status_kind, _COLORS["info"])
        self._status.value = (f'<span style="color:{color};font-size:0.9em">'
                              f"{html.escape(view.status)}</span>")


def _background_seconds(background: float | bool | None, time_scale: float) -> float | None:
    """Wall-clock seconds between background calls, or None; `background` is in real time."""
    if background is None or background is False:
        return None
    seconds = BACKGROUND_DEFAULT if background is True else background
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
            and seconds >= BACKGROUND_MIN):
        raise ValueError(f"background must be True, False or a number of seconds >= "
                         f"{BACKGROUND_MIN:g}, not {background!r}")
    return float(seconds) / time_scale


def _default_client() -> PlayerClient:
    from ..client import Spotify

    return Spotify()
