"""`spotkit top`, `spotkit saved`, `spotkit playlists` and `spotkit playlist`: the library.

Every command reads through the library cache: by default it asks Spotify only for what changed
(``--refresh``), ``--no-refresh`` prints the cached copy without a call, ``--full`` reads
everything again. ``--json`` prints the records (ISO 8601 UTC times), ``--csv`` the same columns
as :func:`spotkit.to_frame`, ``--limit N`` the first N only.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from . import playback, whole_number
from .playback import _dump

if TYPE_CHECKING:
    from ..client import Spotify
    from ..frames import Kind
    from ..library.cache import Refresh
    from ..records import Records

__all__ = ["register"]

_RANGES = {"short": "short_term", "medium": "medium_term", "long": "long_term", "all": "all"}


def _common(parser: argparse.ArgumentParser) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the records as a JSON array")
    fmt.add_argument("--csv", action="store_true", help="print the records as CSV")
    parser.add_argument("--limit", type=whole_number(1), metavar="N",
                        help="print the first N only")
    fresh = parser.add_mutually_exclusive_group()
    fresh.add_argument("--refresh", dest="refresh", action="store_true", default=True,
                       help="ask Spotify for what changed since the cached copy (the default)")
    fresh.add_argument("--no-refresh", dest="refresh", action="store_false",
                       help="print the cached copy only, without asking Spotify")
    fresh.add_argument("--full", dest="full", action="store_true",
                       help="read everything from Spotify again")


def register(subparsers: Any) -> None:
    top = subparsers.add_parser("top", help="list your top tracks or artists",
                                description="List your top tracks or artists, ranked.")
    top.add_argument("kind", choices=("tracks", "artists"))
    top.add_argument("--range", choices=tuple(_RANGES), default="medium",
                     help="short (4 weeks), medium (6 months, the default), long (a year) or all")
    _common(top)
    top.set_defaults(func=run_top)

    saved = subparsers.add_parser("saved", help="list your saved tracks, albums, shows or episodes",
                                  description="List what you saved, newest first.")
    saved.add_argument("kind", choices=("tracks", "albums", "shows", "episodes"))
    _common(saved)
    saved.set_defaults(func=run_saved)

    lists = subparsers.add_parser("playlists", help="list your playlists",
                                  description="List the playlists you own, collaborate on or "
                                              "follow.")
    _common(lists)
    lists.set_defaults(func=run_playlists)

    one = subparsers.add_parser(
        "playlist", help="list the items of a playlist, or create one from a file",
        description="List the items of one of your playlists (`spotkit playlist PLAYLIST`), or "
                    "make a playlist from a file of items (`spotkit playlist create NAME --from "
                    "FILE`).")
    one.add_argument("playlist", metavar="PLAYLIST | create NAME", nargs="+",
                     help="the playlist's id, spotify:playlist: URI or open.spotify.com URL; or "
                          "`create` and the new playlist's name")
    _common(one)
    from .writes import add_create_options

    add_create_options(one)
    one.set_defaults(func=run_playlist_command)


def _refresh(args: argparse.Namespace) -> Refresh:
    if getattr(args, "full", False):
        return "full"
    return bool(args.refresh)


def _show(args: argparse.Namespace, records: Records, line: Callable[[Mapping[str, Any]], str],
          empty: str) -> int:
    shown = records[:args.limit] if args.limit else list(records)
    if args.json:
        _dump(shown)
    elif args.csv:
        from ..frames import to_frame

        to_frame(shown, kind=cast("Kind", records.kind)).to_csv(sys.stdout, index=False)
    elif not shown:
        print(empty)
    else:
        for record in shown:
            print(line(record))
    return 0


def _by(record: Mapping[str, Any], key: str = "artists") -> str:
    return f" by {record[key]}" if record.get(key) else ""


def _day(record: Mapping[str, Any]) -> str:
    added = record.get("added_at")
    return added.astimezone().strftime("%Y-%m-%d") if isinstance(added, datetime) else "????-??-??"


def _read(reader: Callable[[Spotify], Records]) -> Records:
    with playback.make_client() as client:  # looked up here, not bound at import: replaceable
        return reader(client)


def run_top(args: argparse.Namespace) -> int:
    time_range, refresh = _RANGES[args.range], _refresh(args)
    if args.kind == "tracks":
        records = _read(lambda c: c.top_tracks(time_range, refresh=refresh))

        def line(r: Mapping[str, Any]) -> str:
            return f"{_range(r)}{r['rank']:>3}. {r.get('name') or '(unnamed)'}{_by(r)}"
    else:
        records = _read(lambda c: c.top_artists(time_range, refresh=refresh))

        def line(r: Mapping[str, Any]) -> str:
            genres = f" ({r['genres']})" if r.get("genres") else ""
            return f"{_range(r)}{r['rank']:>3}. {r.get('name') or '(unnamed)'}{genres}"

    def _range(r: Mapping[str, Any]) -> str:
        return f"{str(r['time_range']).removesuffix('_term'):<6} " if time_range == "all" else ""

    return _show(args, records, line, f"No top {args.kind} yet")


_SAVED_LINES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "tracks": lambda r: f"{_day(r)}  {r.get('name') or '(unnamed)'}{_by(r)}",
    "albums": lambda r: f"{_day(r)}  {r.get('name') or '(unnamed)'}{_by(r)}"
                        + (f" ({str(r['release_date'])[:4]})" if r.get("release_date") else ""),
    "shows": lambda r: f"{_day(r)}  {r.get('name') or '(unnamed)'}{_by(r, 'publisher')}",
    "episodes": lambda r: f"{_day(r)}  {r.get('name') or '(unnamed)'}"
                          + (f" - {r['show']}" if r.get("show") else ""),
}


def run_saved(args: argparse.Namespace) -> int:
    refresh = _refresh(args)
    method = f"saved_{args.kind}"
    records = _read(lambda c: getattr(c, method)(refresh=refresh))
    return _show(args, records, _SAVED_LINES[args.kind], f"No saved {args.kind}")


def run_playlists(args: argparse.Namespace) -> int:
    refresh = _refresh(args)
    records = _read(lambda c: c.playlists(refresh=refresh))

    def line(r: Mapping[str, Any]) -> str:
        notes = [f"{r['items_total']} items" if r.get("items_total") is not None else "? items"]
        if r.get("collaborative"):
            notes.append("collaborative")
        if r.get("owner_name") or r.get("owner_id"):
            notes.append(f"by {r.get('owner_name') or r.get('owner_id')}")
        return f"{r.get('playlist_id')}  {r.get('name') or '(unnamed)'} ({', '.join(notes)})"

    return _show(args, records, line, "No playlists")


def run_playlist_command(args: argparse.Namespace) -> int:
    words = list(args.playlist)
    if words[0] == "create":
        if len(words) != 2:
            print("spotkit: usage: spotkit playlist create NAME --from FILE (quote a NAME with "
                  "spaces)", file=sys.stderr)
            return 2
        from .writes import run_create

        return run_create(args, words[1])
    if len(words) != 1:
        print("spotkit: give one playlist, or `create NAME --from FILE`", file=sys.stderr)
        return 2
    args.playlist = words[0]
    return run_playlist(args)


def run_playlist(args: argparse.Namespace) -> int:
    from ..endpoints.playlists import playlist_id

    try:
        pid = playlist_id(args.playlist)
    except ValueError as exc:
        print(f"spotkit: {exc}", file=sys.stderr)
        return 2
    refresh = _refresh(args)
    records = _read(lambda c: c.playlist_items(pid, refresh=refresh))

    def line(r: Mapping[str, Any]) -> str:
        if r.get("item_type") == "unknown":
            return f"{r['position'] + 1:>4}. (no longer available)"
        local = " (local file)" if r.get("is_local") else ""
        return f"{r['position'] + 1:>4}. {r.get('name') or '(unnamed)'}{_by(r)}{local}"

    return _show(args, records, line, "This playlist is empty")
