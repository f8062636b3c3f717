"""The one-shot loopback listener that receives Spotify's redirect after the consent page.

It binds exactly the redirect URI's host (127.0.0.1 or ::1, never 0.0.0.0) and port, and serves in
daemon threads so that a notebook cell never blocks. It is deliberately hard to end by accident:

* only ``GET <redirect path>`` is a callback; other paths (favicon, scanners) get 404, other methods
  405, garbage bytes a 400 from :mod:`http.server`; none of them ends the wait;
* a callback whose ``state`` does not match (compared with :func:`hmac.compare_digest`) gets a 400
  page, its code is never used, and the wait goes on;
* each connection has a short socket timeout, and connections are served in their own threads, so
  a slow or silent client cannot hold up the real callback.

The first callback with the right state is *claimed* and handed to the owner's `on_callback`, which
does the work (code exchange, profile, cache) and returns the page to show, so the page tells the
truth. After the page is written, `on_complete` runs. Later callbacks get an "already finished"
page. :meth:`LoopbackListener.stop` closes the socket; the owner calls it in every outcome.
"""

from __future__ import annotations

import errno
import hmac
import html
import http.server
import ipaddress
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigError, PortInUse
from ..logs import logger

__all__ = ["Callback", "LoopbackListener", "Page", "loopback_address"]

_REQUEST_TIMEOUT = 5.0


@dataclass(frozen=True)
class Callback:
    """The query of a redirect whose state matched: either `code` or `error` is set."""

    code: str | None = field(default=None, repr=False)
    error: str | None = None
    error_description: str | None = None


@dataclass(frozen=True)
class Page:
    """What the browser shows after a callback."""

    status: int
    title: str
    message: str

    def render(self) -> bytes:
        title, message = html.escape(self.title), html.escape(self.message)
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>spotkit: {title}</title><style>body{{font-family:system-ui,sans-serif;"
            "max-width:36em;margin:4em auto;padding:0 1em;line-height:1.5}</style></head>"
            f"<body><h1>{title}</h1><p>{message}</p></body></html>"
        ).encode()


def loopback_address(redirect_uri: str) -> tuple[str, int, str]:
    """(host, port, path) to listen on for `redirect_uri`; ConfigError if it is not loopback."""
    parts = urlsplit(redirect_uri)
    host = parts.hostname or ""
    try:
        is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if parts.scheme != "http" or not is_loopback or parts.port is None:
        raise ConfigError(
            f"The redirect URI {redirect_uri!r} is not a loopback address with a port "
            "(http://127.0.0.1:PORT/... or http://[::1]:PORT/...), so spotkit cannot receive the "
            "callback itself. Use such a URI, or finish the login by pasting the address the "
            "browser ends on into LoginFlow.complete_from_url().")
    return host, parts.port, parts.path or "/"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LoopbackListener

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can take seconds
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a broken client connection must never print a traceback into a notebook cell
        logger.debug("listener: error while serving a request", exc_info=True)


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = _REQUEST_TIMEOUT
    protocol_version = "HTTP/1.1"
    server_version = "spotkit"
    sys_version = ""
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.server.owner._handle_get(self)

    def do_POST(self) -> None:
        self._send(Page(405, "Method not allowed", "This address only answers GET."))

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_POST

    def _send(self, page: Page) -> None:
        body = page.render()
        self.send_response(page.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # the default writes the request line (with ?code=...&state=...) to stderr: never
        command, path = getattr(self, "command", None), getattr(self, "path", "")
        logger.debug("listener: %s %s", command or "-", urlsplit(path or "").path)

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug("listener: rejected a malformed request from %s", self.client_address[0])


class LoopbackListener:
    """Serve one OAuth redirect on the redirect URI's loopback host and port.

    `on_callback(callback)` runs (in a listener thread) for the first request on the redirect
    path whose state matches; it returns the page to show. `on_complete()` runs after that page is
    written. Neither may raise (an exception turns into a generic error page and is logged).
    """

    def __init__(self, redirect_uri: str, state: str, on_callback: Callable[[Callback], Page],
                 on_complete: Callable[[], None] | None = None, *,
                 request_timeout: float = _REQUEST_TIMEOUT) -> None:
        self.redirect_uri = redirect_uri
        self.host, self.port, self.path = loopback_address(redirect_uri)
        self._state = state
        self._on_callback = on_callback
        self._on_complete = on_complete
        self._request_timeout = request_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._claim = threading.Lock()
        self._claimed = False
        self._lock = threading.Lock()
        self._stopped = False

    def __repr__(self) -> str:
        status = "stopped" if self._stopped else ("listening" if self._server else "new")
        return f"LoopbackListener({self.host!r}, {self.port}, {self.path!r}, {status})"

    @property
    def listening(self) -> bool:
        return self._server is not None and not self._stopped

    def start(self) -> None:
        """Bind and start serving in a daemon thread; PortInUse if the port is taken."""
        with self._lock:
            if self._server is not None or self._stopped:
                raise RuntimeError("a LoopbackListener serves once; create a new one")
            server_class = _V6Server if ":" in self.host else _Server
            handler = type("_BoundHandler", (_Handler,), {"timeout": self._request_timeout})
            try:
                server = server_class((self.host, self.port), handler)
            except OSError as exc:
                raise self._bind_error(exc) from None
            server.owner = self
            self._server = server
            self._thread = threading.Thread(target=self._serve, name=f"spotkit-login-{self.port}",
                                            daemon=True)
            self._thread.start()
        logger.debug("listener: waiting for the callback on %s:%d%s", self.host, self.port,
                     self.path)

    def stop(self) -> None:
        """Stop serving and close the socket. Safe to call from any thread, any number of times."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            server, thread = self._server, self._thread
        if server is None:
            return
        if thread is not None and thread is not threading.current_thread():
            server.shutdown()  # returns once serve_forever has left its loop
            thread.join(timeout=5)
        server.server_close()

    def _serve(self) -> None:
        server = self._server
        if server is None:
            return
        try:
            server.serve_forever(poll_interval=0.05)
        finally:
            server.server_close()

    def _bind_error(self, exc: OSError) -> Exception:
        where = f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"
        if exc.errno == errno.EADDRINUSE or getattr(exc, "winerror", None) == 10048:
            return PortInUse(
                f"Port {self.port} ({where}) is already in use, so spotkit cannot receive "
                f"Spotify's redirect to {self.redirect_uri}. Close the program using it (maybe "
                "an earlier login still waiting: cancel it, or restart that kernel), or choose "
                "another port: set SPOTIFY_REDIRECT_URI=http://127.0.0.1:<PORT>/callback and "
                "register that URI in your app's settings on the Spotify developer dashboard.")
        return PortInUse(f"Cannot listen on {where} for the login callback ({exc.strerror}). "
                         "Use a redirect URI on 127.0.0.1 with a free port.")

    # --- one request -----------------------------------------------------------------------------

    def _handle_get(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        if parts.path != self.path:
            handler._send(Page(404, "Not found", "Nothing here."))
            return
        query = parse_qs(parts.query, keep_blank_values=True)

        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        state = one("state")
        if state is None or not hmac.compare_digest(state.encode(), self._state.encode()):
            logger.warning("login: ignored a callback with a wrong or missing state (not from "
                           "this login); still waiting for the real one")
            handler._send(Page(400, "This link is not from this login",
                               "The request's state does not match the login spotkit started, "
                               "so it was ignored. If you are logging in, use the address "
                               "spotkit printed (or start the login again)."))
            return
        code, error = one("code"), one("error")
        if not code and not error:
            handler._send(Page(400, "Missing code", "The callback carries neither a code nor an "
                                                    "error; the login goes on waiting."))
            return
        with self._claim:
            first = not self._claimed
            self._claimed = True
        if not first:
            handler._send(Page(409, "Already finished", "This login has already been handled; "
                                                        "you can close this tab."))
            return
        try:
            page = self._on_callback(Callback(code=code or None, error=error or None,
                                              error_description=one("error_description")))
        except Exception:
            logger.exception("login: the callback handler failed")
            page = Page(500, "Login failed", "spotkit failed while finishing the login; see the "
                                             "notebook or terminal for details.")
        try:
            handler._send(page)
        finally:
            if self._on_complete is not None:
                self._on_complete()
