"""`spotkit doctor`: check the setup in order, with what to do about each problem (spotkit.diagnosis)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check your setup (configuration, dashboard, login, account) step by step",
        description="Check the configuration, the client id, the redirect URI, the token cache, its "
                    "scopes and refresh token, Spotify's accounts service and Web API, and what "
                    "your account can do. Each problem comes with what to do. Exits 1 when a "
                    "check finds a problem.")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="seconds for each request to Spotify (default 10)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..diagnosis import doctor

    diagnosis = doctor(timeout=args.timeout)
    print(diagnosis.text())
    return 0 if diagnosis.ok else 1
