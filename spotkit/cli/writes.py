"""`spotkit playlist create NAME --from FILE`: a playlist from a file of items.

FILE is a CSV, Parquet or JSON file with an ``item_uri`` column (what ``spotkit history export``,
``spotkit saved tracks --csv`` and ``to_frame(...).to_csv()`` write), a JSON array of URIs or
records, or a text file with one URI (or open.spotify.com link) per line; blank lines and lines
starting with ``#`` are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_create_options", "read_items", "run_create"]


class _Unreadable(Exception):
    """FILE cannot be used; the message says why in one line."""


def add_create_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", type=Path, metavar="FILE",
                        help="with `create NAME`: the items, from a CSV, Parquet or JSON file with "
                             "an item_uri column, or one URI per line")
    parser.add_argument("--public", action="store_true",
                        help="with `create NAME`: show the playlist on your profile")
    parser.add_argument("--description", metavar="TEXT", help="with `create NAME`: its description")
    parser.add_argument("--unique", action="store_true",
                        help="with `create NAME`: leave out repeated items")


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _Unreadable(f"{path} is not a UTF-8 text file; give a CSV, Parquet or JSON file "
                          "with an item_uri column, or one URI per line") from None
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def read_items(path: Path) -> list[Any]:
    """The items in `path` (see the module docstring). Raises _Unreadable with a one-line why."""
    if path.is_dir():
        raise _Unreadable(f"{path} is a folder; give the file with the items")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".csv") or path.name.lower().endswith(".csv.gz"):
            import pandas as pd

            frame = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
            if "item_uri" in frame.columns:
                return list(frame["item_uri"].tolist())
            if suffix == ".parquet":
                raise _Unreadable(f"{path} has no item_uri column (it has "
                                  f"{', '.join(map(str, frame.columns[:8]))})")
            return _lines(path)
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("item_uri"), list):
                data = data["item_uri"]
            if not isinstance(data, list):
                raise _Unreadable(f"{path} holds no JSON array of URIs or records")
            return data
        return _lines(path)
    except _Unreadable:
        raise
    except FileNotFoundError:
        raise _Unreadable(f"{path} does not exist") from None
    except (OSError, ValueError, ImportError) as exc:  # pandas' parser errors are ValueErrors
        why = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:200]
        raise _Unreadable(f"cannot read {path}: {why}") from None


def run_create(args: argparse.Namespace, name: str) -> int:
    from .playback import make_client

    if args.source is None:
        print("spotkit: give the items with --from FILE", file=sys.stderr)
        return 2
    try:
        items = read_items(args.source)
        from ..endpoints.writes import item_uris

        uris = item_uris(items, unique=args.unique)
    except (_Unreadable, ValueError, TypeError) as exc:
        print(f"spotkit: {exc}", file=sys.stderr)
        return 1
    if not uris:
        print(f"spotkit: {args.source} holds no track or episode URIs", file=sys.stderr)
        return 1
    with make_client() as client:
        record = client.create_playlist(name, uris, public=args.public,
                                        description=args.description)
    print(f"Created playlist {record['name']!r} with {record['items_total']} items: "
          f"{record.get('external_url') or record['playlist_uri']}")
    return 0
