"""How long a request to a server that trickles its answer, or says nothing, takes to fail.

    .venv/bin/python bench/bench_http_deadline.py [--baseline]

Two loopback servers (127.0.0.1, a free port each, threads of this process: the client only
waits, so they do not compete with it): one answers a valid 200 one byte every 0.5 s, one reads
the request and never answers. spotkit's client with its defaults (``RetryPolicy()``: a 15 s
deadline, 3 retries; (3.05, 10) s socket timeouts) asks each for ``GET /me``; the time until it
raises is measured once per server (these are waits, not CPU work: one run says it).

``--baseline`` also times a bare ``requests.get`` with the same (3.05, 10) s timeouts, which is
what a per-read timeout alone gives; it is stopped after 45 s.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable

import requests

from spotkit.client import Spotify
from spotkit.config import load_settings

TRICKLE_INTERVAL = 0.5
BASELINE_CAP = 45.0
BODY = b'{"id": "u", "display_name": "Trickle", "pad": "' + b"x" * 200 + b'"}'
ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
          + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


class Server:
    """A loopback server whose connections are handled by `behaviour(conn, stop)`."""

    def __init__(self, behaviour: Callable[[socket.socket, threading.Event], None]) -> None:
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.behaviour = behaviour
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.recv(65536)
            self.behaviour(conn, self.stop)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.close()


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    for i in range(len(ANSWER)):
        if stop.wait(TRICKLE_INTERVAL):
            return
        conn.sendall(ANSWER[i:i + 1])


def silent(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(600)


def time_it(call: Callable[[], object], cap: float | None = None) -> tuple[float, str]:
    """Seconds until `call` returned or raised (None: still running at `cap`), and the outcome."""
    result: list[tuple[float, str]] = []
    started = time.monotonic()

    def run() -> None:
        try:
            call()
            outcome = "answered"
        except Exception as exc:
            outcome = type(exc).__name__
        result.append((time.monotonic() - started, outcome))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(cap)
    if not result:
        return time.monotonic() - started, f"still waiting, stopped at {cap:g} s"
    return result[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", action="store_true",
                        help=f"also time a bare requests.get (stopped after {BASELINE_CAP:g} s)")
    args = parser.parse_args()

    class Tokens:
        def access_token(self) -> str:
            return "token"

        def refresh(self, stale: str | None, /) -> None:
            return None

    rows: list[tuple[str, str, float, str]] = []
    for name, behaviour in (("trickle (1 byte / 0.5 s)", trickle), ("silent", silent)):
        server = Server(behaviour)
        try:
            settings = load_settings(env={"SPOTKIT_API_URL": f"{server.url}/v1"}, dotenv=False)
            with Spotify(settings, auth=Tokens()) as sp:
                took, outcome = time_it(sp.me, cap=120)
            rows.append((name, "spotkit Spotify().me(), defaults", took, outcome))
            if args.baseline:
                took, outcome = time_it(
                    lambda url=server.url: requests.get(f"{url}/v1/me", timeout=(3.05, 10.0)),
                    cap=BASELINE_CAP)
                rows.append((name, "requests.get(timeout=(3.05, 10))", took, outcome))
        finally:
            server.close()

    print("| server | client | time to fail | outcome |")
    print("|---|---|---:|---|")
    for name, client, took, outcome in rows:
        print(f"| {name} | {client} | {took:.2f} s | {outcome} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
