"""`spotkit sandbox`: run the offline Spotify in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from types import FrameType
from typing import Any

from . import port_argument

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run an offline Spotify (accounts service + Web API) on a loopback port",
        description="Run spotkit's offline Spotify emulator in the foreground. Paste the printed "
                    "`export` lines into another shell (or a notebook's environment) to point "
                    "spotkit at it. Stop it with Ctrl-C.",
    )
    parser.add_argument("--port", type=port_argument(allow_zero=True), default=0,
                        help="port to listen on (default: any free port)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="clock speed factor: 60 plays a 3-minute track in 3 seconds")
    parser.add_argument("--host-only", dest="host", default="127.0.0.1",
                        choices=("127.0.0.1", "::1"),
                        help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--free", action="store_true",
                        help="the user has a free account (player commands answer 403)")
    parser.add_argument("--auto-consent", action="store_true",
                        help="skip the consent page, as for an app the user already approved")
    parser.add_argument("--saved-tracks", type=int, default=1500, metavar="N",
                        help="how many tracks the user's library holds (default 1500)")
    parser.add_argument("--playlists", type=int, default=40, metavar="N",
                        help="how many playlists the user has (default 40)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..sandbox import Sandbox

    if args.speed <= 0:
        print("spotkit: --speed must be positive", file=sys.stderr)
        return 2
    if not 0 <= args.saved_tracks <= 100_000 or not 0 <= args.playlists <= 1000:
        print("spotkit: --saved-tracks must be 0-100000 and --playlists 0-1000", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # not stop.set() here: the handler runs in the main thread, which may hold the Event's
        # lock inside stop.wait(), and the process would hang on Ctrl-C; another thread waits
        threading.Thread(target=stop.set, daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            sandbox = Sandbox(port=args.port, speed=args.speed, host=args.host,
                              premium=not args.free, auto_consent=args.auto_consent,
                              saved_tracks=args.saved_tracks, playlists=args.playlists)
            sandbox.start()
        except OSError as exc:
            print(f"spotkit: cannot listen on port {args.port}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 1
        try:
            print(f"Spotify sandbox running at {sandbox.base_url} (speed x{args.speed:g}).")
            print("Point spotkit at it with:")
            print()
            for name, value in sandbox.env.items():
                print(f"export {name}={shlex.quote(value)}")
            print()
            print(f"Admin API: {sandbox.base_url}/_sandbox/state   Stop with Ctrl-C.", flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            sandbox.stop()
        print("Sandbox stopped.", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
