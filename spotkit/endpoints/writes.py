"""Writing back: playlists from an analysis, and the library.

- :meth:`~WriteEndpoints.create_playlist` (``POST /me/playlists``, then the items 100 a call),
  :meth:`~WriteEndpoints.add_to_playlist`, :meth:`~WriteEndpoints.replace_playlist_items`
  (``POST`` / ``PUT /playlists/{id}/items``);
- :meth:`~WriteEndpoints.save_to_library`, :meth:`~WriteEndpoints.remove_from_library`
  (``PUT`` / ``DELETE /me/library``, 40 URIs a call).

Items may be URIs, ids (of `item_type`), open.spotify.com links, records (``item_uri``) or a
DataFrame with an ``item_uri`` column; their order is kept, and so are repeats unless
``unique=True``. Rows without a URI (an episode known by name only, a local file) are skipped.

A write is never sent again blindly. The HTTP layer already retries what certainly did not run
(a refused connection, 429, 503) and the idempotent ``PUT`` / ``DELETE``. When a ``POST`` fails
in a way that may or may not have been applied (500, 502, 504, a lost connection, a timeout), the
playlist is read back: its ``snapshot_id`` unchanged means nothing happened and the call is made
again; the items in place mean it went through; anything else (someone else edited the playlist
meanwhile) stops with :class:`~spotkit.errors.PartialWrite`, which says what was written and how
to go on. A retried :meth:`create_playlist` therefore never leaves two playlists or doubled items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import NetworkError, PartialWrite, ServerError, SpotkitError
from ..ids import to_uri
from ..records import playlist_record
from ._base import Endpoint
from .playlists import PlaylistEndpoints, PlaylistRef, playlist_id

__all__ = ["LIBRARY_BATCH", "PLAYLIST_BATCH", "WriteEndpoints", "item_uris"]

#: URIs per ``/playlists/{id}/items`` call, and per ``/me/library`` call (Spotify's limits).
PLAYLIST_BATCH = 100
LIBRARY_BATCH = 40

_CREATE = Endpoint("POST", "/me/playlists", "playlist-modify-private")
_PUBLIC = ("playlist-modify-public",)   # what a public playlist needs instead
_ADD = Endpoint("POST", "/playlists/{playlist_id}/items", "playlist-modify-private")
_REPLACE = Endpoint("PUT", "/playlists/{playlist_id}/items", "playlist-modify-private")
_PLAYLIST_STATE = Endpoint("GET", "/playlists/{playlist_id}", "playlist-read-private")
_SAVE = Endpoint("PUT", "/me/library", "user-library-modify")
_REMOVE = Endpoint("DELETE", "/me/library", "user-library-modify")

_PLAYLIST_KINDS = ("track", "episode")
_LIBRARY_KINDS = ("track", "album", "episode", "show", "audiobook", "playlist", "user")
_AMBIGUOUS = (ServerError, NetworkError)
_ATTEMPTS = 3


def item_uris(items: Any, *, kinds: Sequence[str] = _PLAYLIST_KINDS, item_type: str = "track",
              unique: bool = False) -> list[str]:
    """The URIs of `items` in order (see the module docstring for what items may be).

    Raises:
        ValueError: an item is no Spotify URI, id or link, or of a kind not allowed here.
        TypeError: `items` is a single string or mapping, or holds something else.
    """
    if hasattr(items, "columns") and hasattr(items, "iloc"):
        if "item_uri" not in items.columns:
            raise ValueError("a DataFrame of items needs an `item_uri` column")
        values: Iterable[Any] = items["item_uri"].tolist()
    elif isinstance(items, (str, bytes, Mapping)):
        raise TypeError("pass a list of items (URIs, ids, records) or a DataFrame, not one "
                        f"{type(items).__name__}")
    else:
        values = items
    out: list[str] = []
    for item in values:
        if isinstance(item, Mapping):
            item = item.get("item_uri") or item.get("uri")
        if item is None or (isinstance(item, float) and item != item) or _is_na(item):
            continue    # a row without a URI: nothing to add
        if not isinstance(item, str):
            raise TypeError(f"an item must be a URI, id, link or record, not {item!r:.80}")
        uri = to_uri(item, item_type)
        kind = uri.split(":")[1]
        if kind not in kinds:
            raise ValueError(f"{item!r} is a {kind}; only {', '.join(kinds)} items can go here")
        out.append(uri)
    return list(dict.fromkeys(out)) if unique else out


def _is_na(value: object) -> bool:
    return type(value).__name__ in ("NAType", "NaTType")


def _chunks(uris: Sequence[str], size: int) -> list[list[str]]:
    return [list(uris[i:i + size]) for i in range(0, len(uris), size)]


class WriteEndpoints(PlaylistEndpoints):
    """Playlists and the library, written."""

    # --- playlists ---------------------------------------------------------------------------

    def create_playlist(self, name: str, items: Any = (), *, public: bool = False,
                        description: str | None = None, unique: bool = False,
                        item_type: str = "track") -> dict[str, Any]:
        """Make a playlist named `name` holding `items`, in order.

        Args:
            name: the playlist's name (need not be unique).
            items: URIs, ids (of `item_type`), links, records or a DataFrame with ``item_uri``.
            public: show it on the user's profile (default private).
            description: its description.
            unique: leave out repeats (the first of each is kept).
            item_type: what bare ids are ("track" or "episode").

        Returns:
            The playlist record (``playlist_id``, ``snapshot_id``, ``items_total``...).

        Raises:
            PartialWrite: the playlist was made but not every item added; the message says how
                many were and how to add the rest.
            SpotkitError: nothing was written (no playlist exists).
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a playlist needs a name, not {name!r}")
        uris = item_uris(items, item_type=item_type, unique=unique)
        before = {r["playlist_id"] for r in self.read_playlists(progress=False)}
        body: dict[str, Any] = {"name": name, "public": public}
        if description is not None:
            body["description"] = description
        record = self._create(name, body, before)
        pid = record["playlist_id"]
        if not pid:
            raise SpotkitError(f"Spotify made the playlist {name!r} but sent no id for it; "
                               "find it in the app and add the items with add_to_playlist().")
        snapshot, total = self._add(pid, uris, None, record["snapshot_id"], 0, 0, created=True)
        record.update(snapshot_id=snapshot, items_total=total)
        return record

    def _create(self, name: str, body: dict[str, Any], before: set[str]) -> dict[str, Any]:
        """POST /me/playlists once; after an ambiguous failure, look for the new playlist."""
        scopes = _PUBLIC if body["public"] else _CREATE.scopes
        for attempt in range(_ATTEMPTS):
            try:
                return playlist_record(self._http.request("POST", _CREATE.path, json_body=body,
                                                          scopes=scopes))
            except _AMBIGUOUS:
                found = [r for r in self.read_playlists(progress=False)
                         if r["playlist_id"] not in before and r["name"] == name]
                if len(found) == 1:   # it was made: go on with it
                    return dict(found[0])
                if found or attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def add_to_playlist(self, playlist: PlaylistRef, items: Any, position: int | None = None,
                        *, unique: bool = False, item_type: str = "track") -> str | None:
        """Add `items` to `playlist` (at the end, or from `position` on), 100 a call.

        Args:
            playlist: an id, URI, open.spotify.com link or playlist record.
            items: URIs, ids, links, records or a DataFrame with ``item_uri``.
            position: where the first item goes (0: the top); None appends.
            unique: leave out repeats among `items`.
            item_type: what bare ids are.

        Returns:
            The playlist's new ``snapshot_id``.

        Raises:
            PartialWrite: some items were added, not all: the message says how many and how to
                go on.
        """
        if position is not None and (isinstance(position, bool) or not isinstance(position, int)
                                     or position < 0):
            raise ValueError(f"position must be None or an int >= 0, not {position!r}")
        pid = playlist_id(playlist)
        uris = item_uris(items, item_type=item_type, unique=unique)
        state = playlist_record(self._call(_PLAYLIST_STATE,
                                           path=_PLAYLIST_STATE.format(playlist_id=pid)))
        total = state["items_total"] or 0
        if position is not None and position > total:
            raise ValueError(f"position {position} is past the end of playlist {pid} "
                             f"({total} items)")
        return self._add(pid, uris, position, state["snapshot_id"], 0, total)[0]

    def replace_playlist_items(self, playlist: PlaylistRef, items: Any, *, unique: bool = False,
                               item_type: str = "track") -> str | None:
        """Make `items` the whole content of `playlist` (the first 100 replace, the rest append).

        Returns:
            The playlist's new ``snapshot_id``.

        Raises:
            PartialWrite: the playlist holds only the first items; the message says how to go on.
        """
        pid = playlist_id(playlist)
        uris = item_uris(items, item_type=item_type, unique=unique)
        first = uris[:PLAYLIST_BATCH]
        answer = self._call(_REPLACE, path=_REPLACE.format(playlist_id=pid),
                            json_body={"uris": first})   # PUT: safe to send again
        return self._add(pid, uris, None, _snapshot(answer), len(first), len(first))[0]

    def _add(self, pid: str, uris: Sequence[str], position: int | None, snapshot: str | None,
             start: int, total: int, *, created: bool = False) -> tuple[str | None, int]:
        """POST ``uris[start:]`` in chunks into a playlist of `total` items (`position` None:
        at the end); the last snapshot_id and the playlist's size after."""
        done = start
        for chunk in _chunks(uris[start:], PLAYLIST_BATCH):
            body: dict[str, Any] = {"uris": chunk}
            if position is not None:
                body["position"] = position + done - start
            try:
                snapshot = self._post_items(pid, body, snapshot, total)
            except SpotkitError as exc:
                at = None if position is None else position + done - start
                raise self._partial(pid, snapshot, done, len(uris), exc, at, created) from exc
            done += len(chunk)
            total += len(chunk)
        return snapshot, total

    def _post_items(self, pid: str, body: dict[str, Any], snapshot: str | None,
                    total: int) -> str | None:
        """One POST of a chunk; after an ambiguous failure, read the playlist back to decide."""
        path = _ADD.format(playlist_id=pid)
        for attempt in range(_ATTEMPTS):
            try:
                return _snapshot(self._call(_ADD, path=path, json_body=body))
            except _AMBIGUOUS:
                if attempt == _ATTEMPTS - 1:
                    raise
                state = self._call(_PLAYLIST_STATE, path=_PLAYLIST_STATE.format(playlist_id=pid))
                now = playlist_record(state)
                if snapshot is not None and now["snapshot_id"] == snapshot:
                    continue          # nothing happened: send it again
                if self._chunk_in_place(pid, body, total):
                    return _snapshot(now)
                raise
        raise AssertionError("unreachable")

    def _chunk_in_place(self, pid: str, body: Mapping[str, Any], total: int) -> bool:
        """Whether the playlist holds exactly the chunk where it was to go, and nothing else new."""
        items = self.read_playlist_items(pid, progress=False)
        uris = [r["item_uri"] for r in items]
        chunk = list(body["uris"])
        at = body.get("position", total)
        return len(uris) == total + len(chunk) and uris[at:at + len(chunk)] == chunk

    @staticmethod
    def _partial(pid: str, snapshot: str | None, done: int, wanted: int, cause: SpotkitError,
                 position: int | None, created: bool) -> PartialWrite:
        where = "" if position is None else f", position={position}"
        made = f"made playlist {pid} and " if created else ""
        return PartialWrite(
            f"spotkit {made}added {done} of {wanted} items to playlist {pid}, then stopped: "
            f"{cause} Nothing else was written. To add the rest: "
            f"add_to_playlist({pid!r}, items[{done}:]{where}).",
            playlist_id=pid, snapshot_id=snapshot, written=done, total=wanted)

    # --- the library -------------------------------------------------------------------------

    def save_to_library(self, items: Any, *, item_type: str = "track") -> int:
        """Save tracks, albums, episodes, shows (and more) to the library, 40 a call.

        Returns:
            How many distinct items were sent.

        Raises:
            PartialWrite: some were saved, not all (saving again is harmless).
        """
        return self._library(_SAVE, items, item_type, "saved")

    def remove_from_library(self, items: Any, *, item_type: str = "track") -> int:
        """Remove items from the library, 40 a call; the number of distinct items sent."""
        return self._library(_REMOVE, items, item_type, "removed")

    def _library(self, endpoint: Endpoint, items: Any, item_type: str, verb: str) -> int:
        uris = item_uris(items, kinds=_LIBRARY_KINDS, item_type=item_type, unique=True)
        done = 0
        for chunk in _chunks(uris, LIBRARY_BATCH):
            try:   # PUT and DELETE: the HTTP layer may send them again safely
                self._call(endpoint, path=endpoint.path, params={"uris": ",".join(chunk)})
            except SpotkitError as exc:
                raise PartialWrite(
                    f"spotkit {verb} {done} of {len(uris)} items, then stopped: {exc} Running "
                    f"the same call again is safe: items already {verb} stay so.",
                    written=done, total=len(uris)) from exc
            done += len(chunk)
        return done


def _snapshot(answer: object) -> str | None:
    value = answer.get("snapshot_id") if isinstance(answer, Mapping) else None
    return value if isinstance(value, str) and value else None

