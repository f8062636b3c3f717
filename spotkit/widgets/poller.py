"""The now-playing widget's engine: one background thread that polls, ticks and runs commands.

No ipywidgets here. The thread hands a :class:`PlayerView` snapshot to an `on_update` callback
(the widget's renderer) whenever something visible changes: after each poll, on each local
progress tick, when a command starts or fails. It never prints, displays or raises into the
notebook: every failure becomes the snapshot's status line.

The thread has one owner (the :class:`NowPlayingPoller`), a stop event and a wake event; it ends
on :meth:`NowPlayingPoller.stop`, which the widget calls on close, and at interpreter exit.
Button clicks run in the kernel thread: :meth:`NowPlayingPoller.request` only queues the command
and wakes the thread, so a click never waits for Spotify.

Given an :class:`~spotkit.widgets.attention.Attention`, the poller calls Spotify only while somebody
watches (widgets report their views through :meth:`NowPlayingPoller.report`), or every
`background` seconds when an owner asked for that; without one (a terminal, a script) it always
counts as watched. Local progress ticks are skipped while nobody watches too.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .. import _runtime
from ..errors import LoginRequired, MissingScope, SpotkitError
from ..logs import logger
from .attention import Attention
from .images import ImageFetcher
from .scheduler import COMMANDS, Observation, PollScheduler, command_visible
from .status import describe_error

__all__ = [
    "CONTROL_SCOPE",
    "NowPlayingPoller",
    "PlayerClient",
    "PlayerView",
]

CONTROL_SCOPE = "user-modify-playback-state"
PLAYBACK_SCOPE = "user-read-playback-state"


class PlayerClient(Protocol):
    """What the poller needs from :class:`spotkit.client.Spotify`."""

    def playback(self) -> dict[str, Any] | None: ...

    def now_playing(self) -> dict[str, Any] | None: ...

    def play(self) -> object: ...

    def pause(self) -> object: ...

    def next(self) -> object: ...

    def previous(self) -> object: ...


@dataclass(frozen=True)
class PlayerView:
    """Everything the widget shows, as one immutable snapshot."""

    record: Mapping[str, Any] | None = None
    position_ms: int | None = None
    loaded: bool = False              # a poll has succeeded at least once
    status: str = ""                  # "" or what went wrong / what is happening
    status_kind: str = "info"         # "info" | "warning" | "error"
    can_control: bool | None = None   # None: not known yet
    busy: str | None = None           # the command being sent
    image: bytes | None = None
    image_url: str | None = None
    polls: int = 0
    calls: int = 0


ClientSource = Callable[[], PlayerClient]


Listener = Callable[[PlayerView], None]
ChangeListener = Callable[[Mapping[str, Any] | None], None]


class NowPlayingPoller:
    """Polls `client` on the schedule of `scheduler` and reports to `on_update` and the other
    listeners (worker thread).

    `client` may be a client or a zero-argument callable making one; it is called in the worker
    thread, so a configuration error shows in the status line instead of raising in the cell (a
    client made so is closed by :meth:`close`). `clock` must be monotonic. `control` forces
    controls on or off (default: when the token has the user-modify-playback-state scope).
    `attention`: who watches (default None: always watched).
    """

    def __init__(self, client: PlayerClient | ClientSource, *,
                 on_update: Listener | None = None,
                 scheduler: PollScheduler | None = None,
                 tick_interval: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 fetch_image: Callable[[str], bytes | None] | None = None,
                 control: bool | None = None,
                 on_record: Callable[[Observation], None] | None = None,
                 command_status_time: float = 10.0,
                 attention: Attention | None = None) -> None:
        if not (tick_interval > 0 and math.isfinite(tick_interval)):
            raise ValueError("tick_interval must be a positive number of seconds")
        self._client_source: ClientSource | None
        if callable(client) and not hasattr(client, "playback"):
            self._client: PlayerClient | None = None
            self._client_source = client
        else:
            self._client = client  # type: ignore[assignment]
            self._client_source = None
        self._listeners: list[Listener] = [on_update] if on_update is not None else []
        self._change_listeners: list[ChangeListener] = []
        self.on_record = on_record
        self._attention = attention
        self._attention_lock = threading.Lock()
        self._was_watched = False
        self._last_poll: float | None = None
        self.scheduler = scheduler if scheduler is not None else PollScheduler()
        self.tick_interval = float(tick_interval)
        self.clock = clock
        self.fetch_image = fetch_image
        self.command_status_time = command_status_time
        self._control_forced = control
        self._commands: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._owners: set[str] = set()
        self._use_playback = True
        self._obs: Observation | None = None
        self._due = 0.0  # poll at once
        self._poll_asap = False  # set from other threads by poll_now()
        self._confirm: str | None = None  # a command whose effect the next poll should show
        self._view = PlayerView(can_control=control)
        self._last_tick_position: int | None = None
        # the status line: a failed command's message stays for a while, whatever polls say
        self._poll_status: tuple[str, str] = ("", "info")
        self._command_status: tuple[str, str, float] | None = None
        self.polls = 0
        self.calls = 0

    # --- public -------------------------------------------------------------------------------

    @property
    def view(self) -> PlayerView:
        """The latest snapshot."""
        return self._view

    @property
    def current(self) -> Mapping[str, Any] | None:
        """The latest now-playing record (None when nothing plays or nothing was fetched)."""
        return self._obs.record if self._obs is not None else None

    @property
    def client(self) -> PlayerClient | None:
        """The client (None until the thread made it, when given a factory)."""
        return self._client

    @property
    def observation(self) -> Observation | None:
        return self._obs

    @property
    def watched(self) -> bool:
        """Whether somebody watches now (always True without an `attention`)."""
        if self._attention is None:
            return True
        with self._attention_lock:
            return self._attention.watched(self.clock())

    @property
    def owners(self) -> int:
        """Owners that joined and have not left."""
        with self._attention_lock:
            return len(self._owners)

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(view)` (worker thread) whenever something visible changes."""
        self._listeners = [*self._listeners, listener]

    def remove_listener(self, listener: Listener) -> None:
        self._listeners = [x for x in self._listeners if x is not listener]

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Call `listener(record)` (worker thread) after a poll that found a change a person
        would see: another item, device or play state, or a seek (see `PollScheduler.is_change`)."""
        self._change_listeners = [*self._change_listeners, listener]

    def remove_change_listener(self, listener: ChangeListener) -> None:
        self._change_listeners = [x for x in self._change_listeners if x is not listener]

    def join(self, owner: str, *, always: bool = False, background: float | None = None) -> None:
        """An owner (a widget) starts using this poller; see :meth:`Attention.join`."""
        with self._attention_lock:
            self._owners.add(owner)
            if self._attention is not None:
                self._attention.join(owner, always=always, background=background)
        self._wake.set()

    def leave(self, owner: str) -> int:
        """An owner is done with this poller; returns how many owners remain."""
        with self._attention_lock:
            self._owners.discard(owner)
            if self._attention is not None:
                self._attention.leave(owner)
            left = len(self._owners)
        self._wake.set()
        return left

    def report(self, owner: str, view: str, watched: bool) -> None:
        """A view of `owner` says whether it is watched (from the front end, kernel thread)."""
        if self._attention is None:
            return
        with self._attention_lock:
            self._attention.report(owner, view, watched, self.clock())
        self._wake.set()

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        """Start the worker thread (no-op when it runs). Returns at once."""
        with self._lifecycle:
            if self.running:
                return
            old = self._thread
            if old is not None and old.is_alive():  # stopping, but stuck in a request
                old.join(timeout=0.05)
            self._stop = threading.Event()
            self._due = self.clock()
            self._thread = threading.Thread(target=self._run, args=(self._stop,),
                                            name="spotkit-now-playing", daemon=True)
            self._thread.start()
        _runtime.stop_at_exit(self)

    def stop(self, timeout: float | None = 1.0) -> None:
        """Stop the worker thread; waits at most `timeout` seconds for it (it is a daemon)."""
        with self._lifecycle:
            self._stop.set()
            self._wake.set()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread() and thread.is_alive():
            thread.join(timeout=timeout)

    def close(self, timeout: float | None = 1.0) -> None:
        """Stop, then close the client if this poller made it and the image fetcher if it has one."""
        self.stop(timeout=timeout)
        for owned in (self._client if self._client_source is not None else None,
                      self.fetch_image if isinstance(self.fetch_image, ImageFetcher) else None):
            close = getattr(owned, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:  # closing must not fail a cell
                    logger.debug("closing %s failed: %s", type(owned).__name__, type(exc).__name__)

    def request(self, command: str) -> None:
        """Queue a player command ('previous', 'play', 'pause', 'toggle', 'next'); never blocks."""
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; use one of {', '.join(COMMANDS)}")
        self._commands.put(command)
        self._wake.set()

    def poll_now(self) -> None:
        """Ask for a poll as soon as the thread is free (no cost while it is stopped)."""
        self._poll_asap = True
        self._wake.set()

    # --- the loop -----------------------------------------------------------------------------

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                wait = self.step(stop)
            except BaseException as exc:  # the thread must not die with a traceback in a cell
                logger.debug("now-playing loop failed: %s", type(exc).__name__)
                self._poll_status = describe_error(exc, self.scheduler.policy.backoff_initial)
                self._publish(stop, busy=None)
                wait = self.scheduler.policy.backoff_initial
                if not isinstance(exc, Exception):
                    return
            if wait > 0:
                self._wake.wait(None if math.isinf(wait) else wait)

    def step(self, stop: threading.Event | None = None) -> float:
        """One turn of the loop: run queued commands, poll if due, tick; returns seconds to sleep.

        The thread calls this; tests call it directly with a fake clock.
        """
        stop = stop if stop is not None else self._stop
        while not stop.is_set():
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            self._run_command(command, stop)
        if stop.is_set():
            return 0.0
        expiry = self._command_status[2] if self._command_status is not None else None
        if expiry is not None and self.clock() >= expiry:
            self._command_status = None
            self._publish(stop)
        watched = self._watched(self.clock())
        if self._poll_asap or self.clock() >= self._next_due(watched):
            self._poll_asap = False
            self._poll(stop)
        now = self.clock()
        wait = self._next_due(watched) - now
        if expiry is not None and self._command_status is not None:
            wait = min(wait, expiry - now)
        if watched and self._obs is not None and self._obs.is_playing:
            self._tick(stop, now)
            wait = min(wait, self.tick_interval)
        change = self._next_attention_change(now)
        if change is not None:
            wait = min(wait, change - now)
        return max(0.0, wait)

    # --- attention ------------------------------------------------------------------------------

    def _watched(self, now: float) -> bool:
        """Whether somebody watches; on the turn to watched, the next poll comes at once."""
        if self._attention is None:
            return True
        with self._attention_lock:
            watched = self._attention.watched(now)
        if watched and not self._was_watched:
            self._due = self.scheduler.when_watched(self._due, self._last_poll, now)
            self._last_tick_position = None  # show where playback got to meanwhile
        self._was_watched = watched
        return watched

    def _next_due(self, watched: bool) -> float:
        background = None
        if self._attention is not None:
            with self._attention_lock:
                background = self._attention.background()
        return self.scheduler.next_due(self._due, watched=watched, last_poll=self._last_poll,
                                       background=background)

    def _next_attention_change(self, now: float) -> float | None:
        if self._attention is None:
            return None
        with self._attention_lock:
            return self._attention.next_change(now)

    # --- the pieces ---------------------------------------------------------------------------

    def _get_client(self) -> PlayerClient:
        if self._client is None:
            if self._client_source is None:  # pragma: no cover - one of the two is always set
                raise SpotkitError("no client")
            self._client = self._client_source()
        return self._client

    def _count_calls(self, client: PlayerClient, before: int | None, fallback: int) -> None:
        after = getattr(client, "calls", None)
        if isinstance(before, int) and isinstance(after, int) and after >= before:
            self.calls += after - before
        else:
            self.calls += fallback

    def _fetch(self, client: PlayerClient) -> dict[str, Any] | None:
        if self._use_playback:
            try:
                return client.playback()
            except MissingScope as exc:
                if PLAYBACK_SCOPE not in exc.missing:
                    raise
                # currently-playing needs only user-read-currently-playing (no device shown)
                self._use_playback = False
        return client.now_playing()

    def _poll(self, stop: threading.Event) -> None:
        started = self.clock()
        client: PlayerClient | None = None
        before: int | None = None
        try:
            client = self._get_client()
            before = getattr(client, "calls", None)
            record = self._fetch(client)
        except Exception as exc:
            if client is not None:
                self._count_calls(client, before, 1)
            self._last_poll = self.clock()
            delay = self.scheduler.after_error(exc)
            self._due = self.clock() + delay
            self._confirm = None
            retry = None if isinstance(exc, (LoginRequired, MissingScope)) else delay
            self._poll_status = describe_error(exc, retry)
            logger.debug("now-playing poll failed: %s; next poll in %.2f s", type(exc).__name__,
                         delay)
            self._publish(stop)
            return
        observed = self.clock()
        self._last_poll = observed
        self.polls += 1
        self._count_calls(client, before, 1)
        obs = Observation(record, observed)
        previous = self._obs
        self._obs = obs
        delay = self.scheduler.after_poll(obs, previous, observed)
        if self._confirm is not None:
            if not command_visible(self._confirm, previous.record if previous else None, record):
                delay = min(delay, self.scheduler.policy.confirm_delay)
            self._confirm = None
        self._due = observed + delay
        logger.debug("now-playing poll took %.3f s; next in %.3f s", observed - started, delay)
        if self.on_record is not None:
            self.on_record(obs)
        if self._change_listeners and self.scheduler.is_change(obs, previous):
            self._notify_change(stop, record)
        can_control = self._view.can_control
        if can_control is None:
            can_control = self._control_allowed(client)
        image_url = record.get("image_url") if record is not None else None
        self._last_tick_position = None
        self._poll_status = ("", "info")
        self._publish(stop, record=record, position_ms=self.scheduler.position_ms(obs, observed),
                      loaded=True, can_control=can_control)
        if image_url != self._view.image_url:
            self._load_image(stop, image_url if isinstance(image_url, str) else None)

    def _load_image(self, stop: threading.Event, url: str | None) -> None:
        image: bytes | None = None
        if url is not None and self.fetch_image is not None:
            try:
                image = self.fetch_image(url)
            except Exception as exc:  # art is decoration: never a failure
                logger.debug("album art failed: %s", type(exc).__name__)
        self._publish(stop, image=image, image_url=url)

    def _control_allowed(self, client: PlayerClient) -> bool | None:
        """Controls only when the login granted the scope; None if the client cannot tell."""
        if self._control_forced is not None:
            return self._control_forced
        auth = getattr(client, "auth", None)
        token_of = getattr(auth, "token", None)
        if token_of is None:
            return True
        try:
            token = token_of()
        except Exception:  # the poll just worked, so this is transient: decide next time
            return None
        has_scopes = getattr(token, "has_scopes", None)
        return bool(has_scopes(CONTROL_SCOPE)) if callable(has_scopes) else True

    def _run_command(self, command: str, stop: threading.Event) -> None:
        if command == "toggle":
            command = "pause" if self._obs is not None and self._obs.is_playing else "play"
        self._command_status = None
        self._publish(stop, busy=command)
        client: PlayerClient | None = None
        before: int | None = None
        try:
            client = self._get_client()
            before = getattr(client, "calls", None)
            getattr(client, command)()
        except Exception as exc:
            if client is not None:
                self._count_calls(client, before, 1)
            text, kind = describe_error(exc)
            logger.debug("player command %s failed: %s", command, type(exc).__name__)
            # nothing changed on Spotify's side: no extra poll, the message stays a while
            self._command_status = (text, kind, self.clock() + self.command_status_time)
            self._publish(stop, busy=None)
            return
        self._count_calls(client, before, 1)
        self._confirm = command
        self._due = self.clock() + self.scheduler.after_command()
        self._poll_asap = True  # whoever clicked, or asked for it, sees the effect
        self._publish(stop, busy=None)

    def _tick(self, stop: threading.Event, now: float) -> None:
        position = self.scheduler.position_ms(self._obs, now)
        if position is None or position == self._last_tick_position:
            return
        self._last_tick_position = position
        self._publish(stop, position_ms=position)

    def _publish(self, stop: threading.Event, **changes: Any) -> None:
        if self._command_status is not None:
            status, kind = self._command_status[0], self._command_status[1]
        else:
            status, kind = self._poll_status
        view = replace(self._view, polls=self.polls, calls=self.calls, status=status,
                       status_kind=kind, **changes)
        self._view = view
        if stop.is_set():
            return
        for listener in self._listeners:
            try:
                listener(view)
            except Exception as exc:  # a renderer bug must not end the thread
                logger.debug("now-playing render failed: %s", type(exc).__name__)

    def _notify_change(self, stop: threading.Event, record: Mapping[str, Any] | None) -> None:
        for listener in self._change_listeners:
            if stop.is_set():
                return
            try:
                listener(record)
            except Exception as exc:  # the user's callback must not end the thread
                logger.debug("on_change callback failed: %s", type(exc).__name__)
