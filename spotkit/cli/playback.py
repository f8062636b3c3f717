"""`spotkit now` and `spotkit recent`: what plays, and what played.

JSON output has ISO 8601 UTC times; CSV goes through :func:`spotkit.frames.to_frame` so it has the
same columns as a DataFrame. Failures are :class:`~spotkit.errors.SpotkitError` subclasses, which
`spotkit.cli.main` prints without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import whole_number

if TYPE_CHECKING:
    from ..client import Spotify

__all__ = ["make_client", "register"]

_RECENT_DEFAULT = 20


def make_client() -> Spotify:
    """The client the commands use (settings from the environment, token from the cache)."""
    from ..client import Spotify

    return Spotify()


def register(subparsers: Any) -> None:
    now = subparsers.add_parser("now", help="show what is playing now",
                                description="Show the track or episode playing now.")
    now.add_argument("--json", action="store_true",
                     help="print the now-playing record as JSON (null when nothing plays)")
    now.set_defaults(func=run_now)

    recent = subparsers.add_parser("recent", help="list recently played tracks",
                                   description="List recently played tracks, newest first.")
    recent.add_argument("--limit", default=_RECENT_DEFAULT, metavar="N",
                        type=whole_number(1, 50, why=" (Spotify keeps only the last 50)"),
                        help=f"how many, 1-50 (default {_RECENT_DEFAULT})")
    fmt = recent.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the records as a JSON array")
    fmt.add_argument("--csv", action="store_true", help="print the records as CSV")
    recent.set_defaults(func=run_recent)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dump(value: object) -> None:
    print(json.dumps(value, default=_json_default, indent=2, ensure_ascii=False))


def run_now(args: argparse.Namespace) -> int:
    from ..records import now_playing_line

    with make_client() as client:
        record = client.now_playing()
    if args.json:
        _dump(record)
    else:
        print(now_playing_line(record))
    return 0


def _history_line(record: Mapping[str, Any]) -> str:
    played = record.get("played_at")
    when = played.astimezone().strftime("%Y-%m-%d %H:%M") if isinstance(played, datetime) \
        else "????-??-?? ??:??"
    line = f"{when}  {record.get('name') or '(unnamed)'}"
    if record.get("artists"):
        line += f" by {record['artists']}"
    return line


def run_recent(args: argparse.Namespace) -> int:
    with make_client() as client:
        records = client.recently_played(limit=args.limit)
    if args.json:
        _dump(records)
    elif args.csv:
        from ..frames import to_frame

        to_frame(records, kind="history").to_csv(sys.stdout, index=False)
    elif not records:
        print("Nothing played recently")
    else:
        for record in records:
            print(_history_line(record))
    return 0
