"""Loopback servers that misbehave on purpose, for the hostile-HTTP tests and the deadline bench.

Each binds 127.0.0.1 on a free port, serves in daemon threads and stops (closing every socket)
on `close()` / leaving the `with` block, so a test never leaves one behind.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

Handler = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """Accepts TCP connections and hands each to `handler(conn, stop)` in its own thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            read_request(conn)
            self.handler(conn, self.stop)

    def close(self) -> None:
        self.stop.set()
        self._thread.join(2)
        self.sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def read_request(conn: socket.socket) -> bytes:
    """Read up to the end of the request's headers (the tests send no bodies that matter)."""
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def trickle(interval: float = 0.1) -> Handler:
    """Answers a valid 200 with a JSON body, one byte every `interval` seconds."""
    body = b'{"id": "u", "display_name": "Trickle", "pad": "' + b"x" * 100 + b'"}'
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        for i in range(len(answer)):
            if stop.wait(interval):
                return
            conn.sendall(answer[i:i + 1])

    return handle


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Reads the request and never answers."""
    stop.wait(120)


def garbage(conn: socket.socket, stop: threading.Event) -> None:
    """Answers bytes that are not HTTP at all, then closes."""
    conn.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
    conn.close()


def fixed(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    """Answers `status` with `body` and `headers` (Connection: close)."""
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head.encode() + b"\r\n" + body)
        conn.close()

    return handle


class CountingProxy:
    """A forwarding HTTP proxy on loopback that records the host of every request through it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (method, host:port)
        seen = self.seen

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                target = urlsplit(self.path)  # a proxy gets the absolute URI
                seen.append((self.command, target.netloc))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection(target.hostname or "", target.port,
                                                      timeout=10)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("proxy-connection", "connection")}
                path = target.path + (f"?{target.query}" if target.query else "")
                upstream.request(self.command, path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_POST = do_PUT = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(2)

    def __enter__(self) -> CountingProxy:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def time_to_fail(call: Callable[[], object]) -> tuple[float, BaseException | None]:
    """Seconds until `call()` returned or raised, and what it raised."""
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None
