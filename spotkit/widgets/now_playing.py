"""`NowPlayingWidget`: album art, title, artists, device, a moving progress bar and controls.

The widget is a view over a :class:`~spotkit.widgets.poller.NowPlayingPoller`: the poller's
background thread calls :meth:`NowPlayingWidget._render` with a snapshot, and rendering only sets
widget values (ipywidgets sends them to the browser from any thread). Clicks run in the kernel
thread and only queue a command. Nothing here prints, displays or raises into the notebook after
construction.
"""

from __future__ import annotations

import html
import struct
import threading
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from .. import _runtime
from ..errors import SpotkitError
from .poller import ImageFetcher, NowPlayingPoller, PlayerClient, PlayerView
from .scheduler import PollPolicy, PollScheduler

__all__ = ["NowPlayingWidget", "format_ms"]

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

    `client`: a :class:`spotkit.Spotify` (default: one made from the environment, in the
    background thread, so a missing login shows in the widget). Polling follows
    :class:`~spotkit.widgets.scheduler.PollScheduler`: at the item's expected end plus
    `end_margin` seconds of playback, or at the sync interval (wall clock: `sync_interval`
    seconds, stretching up to 4x while playback goes as predicted), whichever comes first; the
    progress bar moves locally every `tick_interval` seconds in between.
    `time_scale`: how much faster than real time playback runs: 1.0 for Spotify, the sandbox's
    speed factor for a time-compressed sandbox (the tutorials pass `quickstart().speed`).
    `controls`: show previous / play-pause / next (default: when the login has the
    user-modify-playback-state scope). `autostart`: start polling at once.

    `.current` is the latest now-playing record (a dict, see :mod:`spotkit.records`) or None;
    `.calls` the API requests sent for this widget; `.stop()` ends the background thread (closing
    the widget and interpreter exit do too); `.start()` resumes.
    """

    def __init__(self, client: PlayerClient | None = None, *, sync_interval: float = 30.0,
                 end_margin: float = 0.5, time_scale: float = 1.0, tick_interval: float = 0.5,
                 controls: bool | None = None, autostart: bool = True,
                 policy: PollPolicy | None = None,
                 fetch_image: Callable[[str], bytes | None] | None = None) -> None:
        import ipywidgets as w

        if policy is None:
            policy = PollPolicy(sync_interval=sync_interval, end_margin=end_margin,
                                time_scale=time_scale)
        self._fetcher = ImageFetcher() if fetch_image is None else None
        self._owns_client = client is None
        source: PlayerClient | Callable[[], PlayerClient] = (
            client if client is not None else _default_client)
        self._poller = NowPlayingPoller(
            source, on_update=self._render, scheduler=PollScheduler(policy),
            tick_interval=tick_interval, control=controls,
            fetch_image=fetch_image if fetch_image is not None else self._fetcher)
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
        self.widget = w.HBox([self._art, details],
                             layout=w.Layout(align_items="center", padding="10px",
                                             border="1px solid #e0e0e0", width="fit-content"))
        self.widget.add_class("spotkit-now-playing")
        # whoever closes the widget (close(), Widget.close_all(), the frontend) stops the thread
        self.widget.observe(self._on_comm_change, names="comm")
        self._render(self._poller.view)
        if autostart:
            self.start()

    # --- public -------------------------------------------------------------------------------

    @property
    def current(self) -> Mapping[str, Any] | None:
        """The latest now-playing record, or None (nothing plays, or no poll succeeded yet)."""
        return self._poller.current

    @property
    def calls(self) -> int:
        """Web API requests sent for this widget (polls, commands, their retries and refreshes).

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
        return self._poller.running

    @property
    def status(self) -> str:
        """The status line's text ("" when all is well)."""
        return self._poller.view.status

    @property
    def poller(self) -> NowPlayingPoller:
        """The engine (for benchmarks and tests)."""
        return self._poller

    def start(self) -> None:
        """Start (or resume) polling in the background; returns at once."""
        if self._closed:
            raise SpotkitError("This widget was closed; create a new NowPlayingWidget.")
        self._poller.start()

    def stop(self, timeout: float | None = 1.0) -> None:
        """Stop polling; the widget keeps showing the last state."""
        self._poller.stop(timeout=timeout)

    def refresh(self) -> None:
        """Poll now (e.g. after changing playback elsewhere)."""
        self._poller.poll_now()

    def close(self) -> None:
        """Stop polling and remove the widget from the page."""
        self._closed = True
        self._poller.stop(timeout=1.0)
        if self._fetcher is not None:
            self._fetcher.close()
        close_client = getattr(self._poller.client, "close", None)
        if self._owns_client and callable(close_client):
            close_client()
        with self._lock:
            _runtime.close_widget_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"NowPlayingWidget({state}, polls={self.polls}, calls={self.calls})"

    # --- kernel-thread callbacks --------------------------------------------------------------

    def _command(self, command: str) -> None:
        self._poller.request(command)

    def _on_comm_change(self, change: Mapping[str, Any]) -> None:
        if change.get("new") is None:
            self._closed = True
            self._poller.stop(timeout=0)

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


def _default_client() -> PlayerClient:
    from ..client import Spotify

    return Spotify()
