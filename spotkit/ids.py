"""Spotify ids, URIs and open.spotify.com links, for every kind of item: the one parser of the
items a user types or pastes (playlists, enrichment, writes, the CLI).

Accepted, surrounding white space ignored:

- a bare id, 22 base62 characters (``4uLU6hMCjMI75M1A2tKUQC``), taken to be of the kind asked for;
- a URI, ``spotify:<kind>:<id>`` (and the old ``spotify:user:<user>:playlist:<id>``);
- a link, ``https://open.spotify.com/<kind>/<id>``, with or without the scheme, with any path
  before the kind (``intl-de/``, ``embed/``, ``user/<user>/``) and any query (``?si=...``).

A user's id is a user name rather than a base62 id.
"""

from __future__ import annotations

import re

__all__ = ["KINDS", "is_id", "item_id", "parse", "to_uri"]

#: The kinds of item a URI or link can name.
KINDS: tuple[str, ...] = ("track", "episode", "album", "show", "artist", "playlist", "audiobook",
                          "user")

_BASE62 = r"[0-9A-Za-z]{22}"
_USER = r"[0-9A-Za-z._-]+"
_ITEM = "|".join(k for k in KINDS if k != "user")


def _pair(sep: str) -> str:
    """A kind and its id, `sep` between: groups 2 and 3 for an item, 4 for a user."""
    return rf"(?P<pair>({_ITEM}){sep}({_BASE62})|user{sep}({_USER}))"


_URI = re.compile(rf"spotify:(?:user:{_USER}:(?=playlist:))?{_pair(':')}")
_URL = re.compile(rf"(?:https?://)?open\.spotify\.com/(?:[\w-]+/)*?{_pair('/')}/?(?:[?#].*)?")
_ID = re.compile(_BASE62)
_USER_ID = re.compile(_USER)


def is_id(value: str) -> bool:
    """Whether `value` is exactly a base62 id of an item (not a user name, no white space)."""
    return _ID.fullmatch(value) is not None


def parse(value: str, kind: str | None = None) -> tuple[str, str]:
    """The ``(kind, id)`` that `value` names: an id, a URI or an open.spotify.com link.

    Args:
        value: what the user gave.
        kind: the kind a bare id is taken to be (None: bare ids are refused).

    Returns:
        The kind named by the URI or link (or `kind` for a bare id) and the id.

    Raises:
        ValueError: when `value` is none of these, naming it and what would do.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    text = value.strip() if isinstance(value, str) else None
    if text is not None:
        if kind is not None and (_USER_ID if kind == "user" else _ID).fullmatch(text):
            return kind, text
        match = _URI.fullmatch(text) or _URL.fullmatch(text)
        if match:
            found_kind, found_id, user = match.group(2, 3, 4)
            return (found_kind, found_id) if user is None else ("user", user)
    what = kind or "item"
    raise ValueError(f"{value!r:.120} is not a Spotify {what} id, spotify:{what}:... URI or "
                     f"open.spotify.com/{what}/... link")


def to_uri(value: str, kind: str) -> str:
    """The ``spotify:<kind>:<id>`` URI of `value`: a URI or link (of any kind), or a bare id taken
    to be of `kind`.

    Raises:
        ValueError: when `value` is none of these.
    """
    return "spotify:{}:{}".format(*parse(value, kind))


def item_id(value: str, kind: str) -> str:
    """The id of the `kind` item that `value` names: an id, a URI or a link.

    Raises:
        ValueError: when `value` is none of these, or names another kind of item.
    """
    found, id_ = parse(value, kind)
    if found != kind:
        article = "an" if found[0] in "aeiou" else "a"
        raise ValueError(f"{value!r:.120} is {article} {found}, not a {kind}")
    return id_
