"""The HTTP server (threaded, HTTP/1.1 keep-alive, loopback only) and the `Sandbox` context manager."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import admin
from .app import dispatch
from .faults import Fault
from .library import LibraryOptions
from .state import DEFAULT_REDIRECT_URIS, Config, SandboxState
from .wire import Request, Response, api_error

__all__ = ["Sandbox"]

MAX_BODY = 1 << 20
LOOPBACK_HOSTS = ("127.0.0.1", "::1")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a kept-alive client connection must not hold up shutdown
    allow_reuse_address = True
    request_queue_size = 128  # a burst of 16+ threads opening connections at once must not be refused

    def __init__(self, address: tuple[str, int]) -> None:
        self.state: SandboxState | None = None
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, sock: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(sock)
            else:
                self._conns.discard(sock)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that vanished mid-answer is not the sandbox's problem; stay quiet
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError) and not self.stopping.is_set():
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # even a garbage request line gets a status line back
    # headers and body leave as separate writes: without TCP_NODELAY each answer on a kept-alive
    # connection waits ~40 ms for the client's delayed ACK (see ARCHITECTURE.md)
    disable_nagle_algorithm = True
    server_version = "envoy"
    sys_version = ""
    timeout = 60  # idle keep-alive connections are dropped after a minute
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the sandbox keeps its own request log

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        raw = self.headers.get("Content-Length")
        length = int(raw) if raw is not None else 0
        if length < 0 or length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        state = self.server.state
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None or state is None:
            self.close_connection = True
            self._send(api_error(400, "Bad request"))
            return
        target = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=target.path or "/",
            query=parse_qs(target.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = dispatch(state, req, self.server.stopping.wait)
        except Exception:  # the sandbox answers 500 rather than dropping the connection
            response = api_error(500, "Server error")
        # Spotify's services answer browsers' cross-origin reads; the admin API must not
        self._send(response, cors=not req.path.startswith("/_sandbox/"))

    def _send(self, response: Response, cors: bool = True) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if cors:
            self.send_header("Access-Control-Allow-Origin", "*")
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if response.body and self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)


class Sandbox:
    """An offline Spotify (accounts service + Web API) on a loopback port, for tests and demos.

    Use it as a context manager, or call start() / stop(). Helper methods change its state in
    process; each also exists over HTTP under /_sandbox/ for other processes.
    """

    def __init__(
        self,
        port: int = 0,
        speed: float = 1.0,
        rotate_refresh_tokens: bool = True,
        premium: bool = True,
        access_token_ttl: int = 3600,
        seed_history: int = 30,
        auto_consent: bool = False,
        *,
        host: str = "127.0.0.1",
        code_ttl: float = 300.0,
        playing: bool = True,
        legacy_fields: bool = True,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uris: Iterable[str] | None = None,
        app_name: str = "spotkit (sandbox)",
        display_name: str = "Sandy Box",
        seed: int | None = None,
        saved_tracks: int = 1500,
        playlists: int = 40,
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError(f"the sandbox binds loopback only ({' or '.join(LOOPBACK_HOSTS)})")
        if speed <= 0:
            raise ValueError("speed must be positive")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port {port!r} is not a port: use 1-65535, or 0 for any free port")
        for uri in redirect_uris or ():
            try:
                registered_port = urlsplit(uri).port
            except ValueError:
                registered_port = -1
            if registered_port is not None and not 1 <= registered_port <= 65535:
                raise ValueError(f"redirect URI {uri!r}: a port must be 1-65535 (or none, for any)")
        self._host = host
        self._port = port
        self._config = Config(
            speed=speed, rotate_refresh_tokens=rotate_refresh_tokens, premium=premium,
            access_token_ttl=access_token_ttl, code_ttl=code_ttl, seed_history=seed_history,
            auto_consent=auto_consent, playing=playing, legacy_fields=legacy_fields,
            client_id=client_id, client_secret=client_secret, app_name=app_name,
            display_name=display_name, seed=seed,
            library=LibraryOptions(saved_tracks=saved_tracks, playlists=playlists),
            redirect_uris=tuple(redirect_uris) if redirect_uris is not None
            else DEFAULT_REDIRECT_URIS,
        )
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._state: SandboxState | None = None
        self.browser_error: Exception | None = None  # what went wrong in a background browser()

    # ---------------------------------------------------------------- life cycle
    def start(self) -> Sandbox:
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        cls = _Server6 if ":" in self._host else _Server
        server = cls((self._host, self._port))
        port = server.server_address[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._state = SandboxState(self._config, f"http://{host}:{port}")
        server.state = self._state
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"spotkit-sandbox-{port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def __repr__(self) -> str:
        where = self._state.base_url if self._state is not None else "not started"
        return f"<Sandbox {where}>"

    @property
    def _live(self) -> SandboxState:
        if self._state is None:
            raise RuntimeError("the sandbox has not been started")
        return self._state

    # ---------------------------------------------------------------- addresses and app
    @property
    def port(self) -> int:
        return int(self._live.base_url.rsplit(":", 1)[1])

    @property
    def base_url(self) -> str:
        return self._live.base_url

    @property
    def accounts_url(self) -> str:
        return self._live.base_url

    @property
    def api_url(self) -> str:
        return self._live.base_url + "/v1"

    @property
    def client_id(self) -> str:
        return self._live.accounts.app.client_id

    @property
    def client_secret(self) -> str:
        return self._live.accounts.app.client_secret

    @property
    def redirect_uri(self) -> str:
        return self._live.accounts.app.redirect_uris[0]

    @staticmethod
    def free_redirect_uri() -> str:
        """A loopback redirect URI on a port nobody listens on now.

        The default registration accepts ``http://127.0.0.1/callback`` on any port, so a login
        need not take 8888 (JupyterLab's default, and maybe another login's at the same time).
        """
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return f"http://127.0.0.1:{s.getsockname()[1]}/callback"

    @property
    def device_id(self) -> str:
        return self._live.device_id

    @property
    def env(self) -> dict[str, str]:
        """What a client needs in its environment to talk to this sandbox (PKCE, no secret)."""
        return {
            "SPOTIFY_CLIENT_ID": self.client_id,
            "SPOTIFY_REDIRECT_URI": self.redirect_uri,
            "SPOTKIT_ACCOUNTS_URL": self.accounts_url,
            "SPOTKIT_API_URL": self.api_url,
        }

    @property
    def env_with_secret(self) -> dict[str, str]:
        return {**self.env, "SPOTIFY_CLIENT_SECRET": self.client_secret}

    @property
    def user(self) -> dict[str, Any]:
        with self._live.lock:
            return self._live.user_view()

    @property
    def track_uris(self) -> list[str]:
        """The catalogue's tracks, in queue order."""
        with self._live.lock:
            return list(self._live.player.queue)

    @property
    def episode_uris(self) -> list[str]:
        return list(self._live.catalogue.episodes_by_uri)

    # ---------------------------------------------------------------- test helpers
    def issue_token(self, scopes: Iterable[str] | None = None) -> dict[str, Any]:
        """A token answer (access_token, refresh_token, scope, expires_in, token_type) as if the
        user had logged in; all known scopes unless `scopes` is given."""
        with self._live.lock:
            return admin.mint_token(self._live, scopes)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now answers 401 "The access token expired"."""
        with self._live.lock:
            self._live.accounts.expire_access_tokens()

    def revoke_refresh_tokens(self) -> None:
        """Every refresh token issued so far now answers invalid_grant "Refresh token revoked"."""
        with self._live.lock:
            self._live.accounts.revoke_refresh_tokens()

    def queue_fault(
        self,
        path: str,
        status: int | None = 500,
        method: str | None = None,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        kind: str = "json",
        delay: float = 0.0,
        *,
        reason: str | None = None,
        retry_after: float | None = None,
        applied: bool = False,
    ) -> None:
        """Answer the next `times` requests to `path` (exact path, no query) with `status`.

        kind: "json" (Spotify's error format, or `body`), "html", "malformed" or "empty".
        `status=None` answers normally after `delay` seconds; `times=0` lasts until
        clear_faults(). A 429 gets `Retry-After: 1` unless `retry_after` or headers say otherwise.
        `applied=True` carries the request out before answering with the fault (a write that
        happened though its answer was an error).
        """
        hdrs = dict(headers or {})
        if retry_after is not None:
            hdrs["Retry-After"] = str(retry_after)
        fault = Fault(path=path, status=status, method=method, times=times, headers=hdrs,
                      body=body, kind=kind, delay=delay, reason=reason, applied=applied)
        with self._live.lock:
            self._live.faults.add(fault)

    def clear_faults(self) -> None:
        with self._live.lock:
            self._live.faults.clear()

    def set_playing(self, uri: str | None, is_playing: bool = True, progress_ms: int = 0) -> None:
        """Play `uri` (a catalogue track or episode, or "ad"); None: nothing plays (204)."""
        with self._live.lock:
            admin.set_playing(self._live, uri, is_playing, progress_ms)

    def set_user(self, product: str | None = None, display_name: str | None = None) -> None:
        with self._live.lock:
            admin.set_user(self._live, product, display_name)

    def set_speed(self, factor: float) -> None:
        with self._live.lock:
            self._live.player.sync()
            self._live.clock.set_speed(factor)

    def advance(self, ms: float) -> None:
        """Move the sandbox clock `ms` milliseconds forward at once."""
        with self._live.lock:
            self._live.player.sync()
            self._live.clock.advance(ms)
            self._live.player.sync()

    def now_ms(self) -> int:
        """The sandbox clock: Unix ms, running `speed` times faster than the wall clock."""
        with self._live.lock:
            return self._live.clock.now_ms()

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The request log (admin requests excluded): method, path, query, status, time, ..."""
        with self._live.lock:
            return self._live.log.entries(path)

    def counts(self) -> dict[str, int]:
        with self._live.lock:
            return self._live.log.counts()

    def reset_log(self) -> None:
        with self._live.lock:
            self._live.log.reset()

    def play_history(self) -> list[dict[str, Any]]:
        """Every finished play, oldest first: uri, type, played_at_ms, ms_played, context_uri."""
        with self._live.lock:
            self._live.player.sync()
            return [p.as_dict() for p in self._live.player.history]

    def browser(self, url: str, *, agree: bool = True, background: bool = True) -> str | None:
        """Act as the user's browser for an authorize `url`: show the consent page, press Agree
        (or Cancel), then visit the redirect, i.e. the client's loopback listener.

        Pass it where a client opens a browser, e.g. ``login(open_browser=sb.browser)``. It works
        in a daemon thread by default (the caller may only start listening after opening the
        browser) and then returns None; with ``background=False`` it returns the redirect address.
        """
        from .browser import consent

        if not background:
            return consent(url, agree=agree)
        def run() -> None:
            try:
                consent(url, agree=agree)
            except Exception as exc:  # the client's login times out; keep the why for tests
                self.browser_error = exc

        threading.Thread(target=run, daemon=True, name="spotkit-sandbox-browser").start()
        return None

    # ---------------------------------------------------------------- the library
    def library(self) -> dict[str, Any]:
        """What the user's library holds: counts, saved track URIs (newest first), some unsaved
        ones, and every playlist (id, owner, items, snapshot_id, readable)."""
        with self._live.lock:
            return self._live.library.summary()

    def save_items(self, uris: Iterable[str]) -> int:
        """Save tracks, albums, shows or episodes at the top of the library (added now)."""
        with self._live.lock:
            return self._live.library.save(list(uris), self._live.player.sync())

    def remove_items(self, uris: Iterable[str]) -> int:
        """Remove saved items from the library."""
        with self._live.lock:
            return self._live.library.remove(list(uris))

    def edit_playlist(self, playlist_id: str, *, add: Iterable[str] = (),
                      remove: Iterable[str] = (), name: str | None = None) -> str:
        """Change a playlist as its owner would; returns its new snapshot_id."""
        with self._live.lock:
            return self._live.library.edit_playlist(
                playlist_id, add=list(add), remove=list(remove), name=name,
                now_ms=self._live.player.sync()).snapshot_id

    def set_latency(self, seconds: float, path: str = "/v1/") -> None:
        """Delay every answer under the path prefix `path` by `seconds` (0 removes it), as
        Spotify's 100-300 ms round trips do."""
        with self._live.lock:
            if seconds:
                self._live.latency[path] = seconds
            else:
                self._live.latency.pop(path, None)

    def set_rate_limit(self, limit: int | None, window: float = 30.0) -> None:
        """Answer 429 (with Retry-After) to /v1 calls beyond `limit` per rolling `window`
        seconds, as Spotify does; None switches the limit off."""
        with self._live.lock:
            admin.set_rate_limit(self._live, limit, window)

    def rate_limit(self) -> dict[str, Any] | None:
        """The limiter's figures (limit, window, in_window, admitted, refused), None when off."""
        with self._live.lock:
            limiter = self._live.rate_limit
            return None if limiter is None else limiter.describe()

    def grow_catalogue(self, tracks: int) -> list[str]:
        """Make the catalogue hold `tracks` generated tracks (with albums and artists) beside the
        curated ones; their URIs. For single-item look-ups, libraries and benchmarks."""
        with self._live.lock:
            return self._live.catalogue.extend(tracks)

    def state(self) -> dict[str, Any]:
        """What GET /_sandbox/state answers."""
        with self._live.lock:
            return admin.snapshot(self._live)
