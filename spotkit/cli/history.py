"""`spotkit history ...`: keep, import and export a listening history (see spotkit.history).

``record`` runs until Ctrl-C or SIGTERM and exits 0; a SIGKILL loses nothing committed either
(each poll is one transaction), so it can run under any supervisor.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..errors import MalformedResponse, NetworkError, RateLimited, ServerError
from . import whole_number

if TYPE_CHECKING:
    from ..history import HistoryLogger

__all__ = ["register"]

_TRANSIENT = (RateLimited, ServerError, NetworkError, MalformedResponse)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def register(subparsers: Any) -> None:
    from ..history.logger import DEFAULT_INTERVAL

    parser = subparsers.add_parser(
        "history", help="record, import and export your listening history",
        description="Keep a listening history in an SQLite file: Spotify itself only remembers "
                    "the last 50 tracks.")
    commands = parser.add_subparsers(dest="history_command", metavar="ACTION")
    commands.required = True

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", type=Path, default=None, metavar="PATH",
                       help="the history database (default: history.sqlite3 in your user data "
                            "folder)")

    sync = commands.add_parser("sync", help="record the plays since the last sync, once",
                               description="Read recently-played once and store what is new.")
    db_option(sync)
    sync.set_defaults(func=run_sync)

    record = commands.add_parser(
        "record", help="keep recording until Ctrl-C or SIGTERM",
        description="Poll recently-played every --interval seconds (and once at start, to catch "
                    "up on what played while nothing recorded) until Ctrl-C or SIGTERM.")
    db_option(record)
    record.add_argument("--interval", type=_seconds, default=DEFAULT_INTERVAL, metavar="SECONDS",
                        help=f"seconds between polls (default {DEFAULT_INTERVAL:g}: fewer than 50 "
                             "tracks fit in that)")
    record.add_argument("--episodes", action="store_true",
                        help="also poll what plays now, sparsely, to record podcast episodes "
                             "(recently-played never lists them)")
    record.add_argument("--quiet", action="store_true", help="print nothing per poll")
    record.set_defaults(func=run_record)

    export = commands.add_parser("export", help="write the history to CSV or Parquet",
                                 description="Write the history to a file; the extension (.csv, "
                                             ".csv.gz, .parquet) picks the format.")
    db_option(export)
    export.add_argument("--out", type=Path, required=True, metavar="FILE", help="the file to write")
    export.add_argument("--since", metavar="WHEN", help="only plays from this date/time (UTC)")
    export.add_argument("--until", metavar="WHEN", help="only plays before this date/time (UTC)")
    export.add_argument("--basic", action="store_true",
                        help="only the history columns (leave out the data export's extras)")
    export.set_defaults(func=run_export)

    imp = commands.add_parser(
        "import", help="import Spotify's data export (years of history)",
        description="Import the StreamingHistory*.json / Streaming_History_Audio_*.json files of "
                    "Spotify's data export (or their folder, or the zip). Importing twice adds "
                    "nothing.")
    db_option(imp)
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.set_defaults(func=run_import)

    enrich = commands.add_parser(
        "enrich", help="fetch release dates, albums and genres of the tracks played",
        description="Fetch the catalogue metadata (tracks, albums, artists) of every track in "
                    "the history into spotkit's metadata cache, most-played first, paced under "
                    "Spotify's rate limit. Stop it any time: the next run goes on from there.")
    db_option(enrich)
    enrich.add_argument("--limit", type=whole_number(0), default=None, metavar="N",
                        help="fetch at most N items this time")
    enrich.add_argument("--cache", type=Path, default=None, metavar="PATH",
                        help="the metadata cache (default: metadata.sqlite3 in your user data "
                             "folder)")
    enrich.set_defaults(func=run_enrich)

    info = commands.add_parser("info", help="how many plays, from when, from where",
                               description="Summarise the history database.")
    db_option(info)
    info.set_defaults(func=run_info)


def _open(args: argparse.Namespace, **options: Any) -> HistoryLogger:
    from ..history import HistoryLogger

    return HistoryLogger(args.db, **options)


def _line(history: HistoryLogger, new: list[dict[str, Any]]) -> str:
    return f"+{len(new)} play{'' if len(new) == 1 else 's'} (total {len(history)})"


def run_sync(args: argparse.Namespace) -> int:
    with _open(args) as history:
        print(_line(history, history.sync()))
    return 0


def run_record(args: argparse.Namespace) -> int:
    # a flag, not an Event: Event.set() inside a signal handler can deadlock on its own lock
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    def on_sync(new: list[dict[str, Any]]) -> None:
        if not args.quiet:
            print(_line(history, new), flush=True)

    def on_error(exc: BaseException, delay: float) -> None:
        print(f"spotkit: {exc} (retrying in {delay:.0f} s)", file=sys.stderr, flush=True)

    history = _open(args, interval=args.interval, watch_now_playing=args.episodes,
                    on_sync=on_sync, on_error=on_error)
    handlers = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        print(f"Recording to {history.path} every {args.interval:g} s; Ctrl-C to stop.",
              file=sys.stderr, flush=True)
        # the first poll in the foreground: a missing login fails here, with its advice
        try:
            on_sync(history.sync())
            sync_now = False
        except _TRANSIENT as exc:
            print(f"spotkit: {exc} (retrying)", file=sys.stderr, flush=True)
            sync_now = True
        if not stopping:
            history.start(sync_now=sync_now)
            while not stopping and history.running:
                time.sleep(0.1)
    finally:
        history.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    try:
        print(f"Stopped. {len(history)} plays in {history.path}.", file=sys.stderr)
    finally:
        history.close()
    return 0


def run_export(args: argparse.Namespace) -> int:
    with _open(args) as history:
        frame = history.to_frame(args.since, args.until, extended=not args.basic)
        from ..history.frame import write_history

        path = write_history(frame, args.out)
    print(f"Wrote {len(frame)} plays to {path}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    with _open(args) as history:
        result = history.import_export(args.files)
        print(f"Imported {result}; {len(history)} plays in {history.path}")
    return 0


def run_enrich(args: argparse.Namespace) -> int:
    from ..metadata import Enrichment
    from ..metadata.job import run_in_foreground

    with _open(args) as history:
        frame = history.to_frame()
        job = Enrichment(frame, cache=args.cache, limit=args.limit)
        run_in_foreground(job, progress=None)
    progress = job.progress
    tracks = frame["item_uri"].str.startswith("spotify:track:").sum() if len(frame) else 0
    print(f"Fetched {progress.done} items ({progress.cached} were cached already"
          + (f", {progress.rate_limited} rate-limited" if progress.rate_limited else "")
          + f") for {tracks} track plays in {history.path}.")
    if progress.left:
        print(f"{progress.left} items left: run `spotkit history enrich` again to go on.")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from .._values import from_ms

    with _open(args) as history:
        summary = history.store.summary()
        cursor = history.store.cursor()
    print(f"{history.path}: {summary['plays']} plays")
    for source, n in summary["sources"].items():
        print(f"  {source}: {n}")
    if summary["first"] is not None:
        print(f"from {from_ms(summary['first']).isoformat()} to {from_ms(summary['last']).isoformat()}")
    if cursor is not None:
        print(f"recently-played cursor: {from_ms(cursor).isoformat()}")
    return 0
