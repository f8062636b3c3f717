"""The sandbox user's library as Spotify's 2026 JSON: its artists, albums, tracks, shows, episodes,
playlists and playlist items, at one sandbox's URLs (read by :mod:`.library_api`, written by
:mod:`.writes_api`).

With ``legacy_fields=False`` the fields Spotify removed for development-mode apps
(``popularity``, ``followers``, ``available_markets``) are absent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from .catalogue import MARKETS, Album, Track
from .library import Entry, Library, Playlist
from .state import SandboxState

__all__ = ["LibraryRenderer", "iso_time"]


def iso_time(ms: int) -> str:
    """Epoch milliseconds as Spotify's ``added_at``: ISO 8601, UTC, whole seconds."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class LibraryRenderer:
    """The library's objects as Spotify JSON, at one sandbox's URLs."""

    def __init__(self, state: SandboxState, library: Library) -> None:
        self.cat = state.catalogue
        self.lib = library
        self.legacy = state.config.legacy_fields

    def _links(self, kind: str, id_: str) -> dict[str, Any]:
        return self.cat._links(kind, kind + "s", id_)

    def artist(self, artist_id: str, full: bool = False) -> dict[str, Any]:
        a = self.lib.artists[artist_id]
        body: dict[str, Any] = {**self._links("artist", a.id), "name": a.name}
        if full:
            body["genres"] = list(a.genres)
            body["images"] = self.cat.images("lib-artist:" + a.id)
            if self.legacy:
                body["popularity"] = a.popularity
                body["followers"] = {"href": None, "total": a.followers}
        return body

    def album(self, album: Album, full: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "album_type": album.album_type,
            "total_tracks": len(self.lib.album_tracks[album.id]),
            **self._links("album", album.id),
            "images": self.cat.images("lib-album:" + album.id),
            "name": album.name,
            "release_date": album.release_date,
            "release_date_precision": album.release_date_precision,
            "artists": [self.artist(self.lib.ids[a]) for a in album.artists],
        }
        if self.legacy:
            body["available_markets"] = list(MARKETS)
        if full:
            tracks = [self.track(self.lib.tracks[t], simplified=True)
                      for t in self.lib.album_tracks[album.id]]
            body.update(
                tracks={"href": f"{self.cat.api_url}/albums/{album.id}/tracks?offset=0&limit=50",
                        "items": tracks[:50], "limit": 50, "next": None, "offset": 0,
                        "previous": None, "total": len(tracks)},
                copyrights=[{"text": f"(P) {album.release_date[:4]} {album.label}", "type": "P"}],
                external_ids={"upc": str(int(hashlib.sha256(album.id.encode()).hexdigest(),
                                                16))[:12]},
                genres=[],
                label=album.label,
                popularity=50 if self.legacy else None,
            )
            if not self.legacy:
                del body["popularity"]
        return body

    def track(self, t: Track, simplified: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "artists": [self.artist(self.lib.ids[a]) for a in t.artists],
            "disc_number": 1,
            "duration_ms": t.duration_ms,
            "explicit": t.explicit,
            **self._links("track", t.id),
            "is_local": False,
            "name": t.name,
            "track_number": t.track_number,
        }
        if not simplified:
            body["album"] = self.album(self.lib.albums[self.lib.ids[t.album]])
            body["external_ids"] = {"isrc": "QZLIB" + str(int(hashlib.sha256(
                t.id.encode()).hexdigest(), 16))[:7]}
        if self.legacy:
            body["available_markets"] = list(MARKETS)
            body["preview_url"] = None
            if not simplified:
                body["popularity"] = t.popularity
        return body

    def any_track(self, track_id: str) -> dict[str, Any]:
        """A track of the library's catalogue, or else of the sandbox's own (saved or added to a
        playlist through the Web API)."""
        if track_id in self.lib.tracks:
            return self.track(self.lib.tracks[track_id])
        return self.cat.track(self.cat.track_uris[track_id])

    def show(self, show_id: str) -> dict[str, Any]:
        s = self.lib.shows[show_id]
        body: dict[str, Any] = {
            "copyrights": [],
            "description": s.description,
            "html_description": f"<p>{s.description}</p>",
            "explicit": False,
            **self._links("show", s.id),
            "images": self.cat.images("lib-show:" + s.id),
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": s.name,
            "publisher": s.publisher,
            "total_episodes": len(self.lib.show_episodes[s.id]),
        }
        if self.legacy:
            body["available_markets"] = list(MARKETS)
        return body

    def episode(self, episode_id: str) -> dict[str, Any]:
        e = self.lib.episodes[episode_id]
        return {
            "audio_preview_url": None,
            "description": e.description,
            "html_description": f"<p>{e.description}</p>",
            "duration_ms": e.duration_ms,
            "explicit": False,
            **self._links("episode", e.id),
            "images": self.cat.images("lib-show:" + self.lib.ids[e.show]),
            "is_externally_hosted": False,
            "is_playable": True,
            "languages": ["en"],
            "name": e.name,
            "release_date": e.release_date,
            "release_date_precision": "day",
            "show": self.show(self.lib.ids[e.show]),
            "type": "episode",
        }

    def entry(self, e: Entry) -> dict[str, Any]:
        item: dict[str, Any] | None
        if e.local is not None:
            # as Spotify sends a local file: nulls where the catalogue has ids and links
            name, artist, album, duration = e.local
            nothing: dict[str, Any] = {"external_urls": {}, "href": None, "id": None, "uri": None}
            item = {
                "album": {**nothing, "album_type": None, "artists": [], "available_markets": [],
                          "images": [], "name": album, "release_date": None,
                          "release_date_precision": None, "type": "album"},
                "artists": [{**nothing, "name": artist, "type": "artist"}],
                "available_markets": [], "disc_number": 0, "duration_ms": duration,
                "episode": False, "explicit": False, "external_ids": {}, **nothing,
                "is_local": True, "name": name, "popularity": 0, "preview_url": None,
                "track": True, "track_number": 0, "type": "track",
                "uri": f"spotify:local:{artist}:{album}:{name}:{duration // 1000}"}
        elif e.uri is None:
            item = None
        elif e.uri.startswith("spotify:episode:"):
            # in a playlist, Spotify flags which of the two an item is
            item = {**self.episode(e.uri.rsplit(":", 1)[-1]), "episode": True, "track": False}
        else:
            item = {**self.any_track(e.uri.rsplit(":", 1)[-1]), "episode": False, "track": True}
        return {"added_at": iso_time(e.added_at_ms), "primary_color": None,
                "video_thumbnail": {"url": None},
                "added_by": {**self._links("user", e.added_by), "external_urls": {
                    "spotify": f"https://open.spotify.com/user/{e.added_by}"}},
                "is_local": e.local is not None, "item": item, "track": item}

    def playlist(self, p: Playlist) -> dict[str, Any]:
        ref = {"href": f"{self.cat.api_url}/playlists/{p.id}/items", "total": len(p.entries)}
        return {
            "collaborative": p.collaborative,
            "description": p.description,
            **self._links("playlist", p.id),
            "images": self.cat.images("lib-playlist:" + p.id, (640,)),
            "name": p.name,
            "owner": {**self._links("user", p.owner_id), "display_name": p.owner_name},
            "primary_color": None,  # Spotify sends it, null for user playlists
            "public": p.public,
            "snapshot_id": p.snapshot_id,
            "items": ref,
            "tracks": ref,
        }
