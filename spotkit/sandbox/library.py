"""A realistic library for the sandbox's user: saved tracks added over years, saved albums, shows and
episodes, playlists (owned, collaborative, followed from another user), top items and follows.

Generated on first use (most sandboxes never read the library): its artists, albums, tracks and
podcasts come from the sandbox's made-up catalogue (:mod:`.generated`, the same ids every time),
and a seed picks what the user saved, follows and put in playlists. Rendered as Spotify's 2026 JSON
by :mod:`.library_json`.
Changes (save, remove, edit a playlist) come through the admin API; every playlist edit gives a
new ``snapshot_id``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .catalogue import Album, Artist, Episode, Show, Track, spotify_id
from .generated import generate, generate_podcasts

__all__ = ["FRIEND_ID", "Entry", "Library", "LibraryOptions", "Playlist"]

#: The other user who owns the followed and collaborative playlists.
FRIEND_ID = "sandbox-friend"
_DAY_MS = 86_400_000
_WORDS = ("Harbour", "Lantern", "Glass", "Velvet", "Night", "Summer", "Paper", "River", "Static",
          "Golden", "Echo", "Quiet", "Neon", "Winter", "Salt", "Wire", "Garden", "Satellite",
          "Ocean", "Dust", "Signal", "Ember", "Mirror", "Northern", "Hollow", "Silver", "Wild",
          "Distant", "Electric", "Slow")
_NOUNS = ("Lights", "Hearts", "Machines", "Roads", "Dreams", "Waves", "Bells", "Letters", "Skies",
          "Rooms", "Fields", "Stars", "Clocks", "Birds", "Tides", "Songs", "Lines", "Windows")


@dataclass(frozen=True)
class LibraryOptions:
    """How big the generated library is."""

    saved_tracks: int = 1500
    playlists: int = 40
    saved_albums: int = 60
    shows: int = 8
    saved_episodes: int = 30
    followed_artists: int = 75
    top_items: int = 50


@dataclass
class Entry:
    """One item of a playlist: a track or episode URI, a local file, or an unavailable track."""

    uri: str | None              # None: no longer available (the item renders as null)
    added_at_ms: int
    added_by: str
    local: tuple[str, str, str, int] | None = None   # (name, artist, album, duration) of a local file


@dataclass
class Playlist:
    id: str
    name: str
    owner_id: str
    owner_name: str
    collaborative: bool
    public: bool
    description: str
    entries: list[Entry]
    version: int = 1

    @property
    def snapshot_id(self) -> str:
        return "AAAA" + spotify_id(f"snapshot:{self.id}:{self.version}")


class Library:
    """The generated library of one sandbox user, newest saved items first."""

    def __init__(self, user_id: str, display_name: str, now_ms: int, seed: int | None = None,
                 options: LibraryOptions | None = None) -> None:
        self.options = opts = options or LibraryOptions()
        self.user_id = user_id
        self.display_name = display_name
        rng = random.Random(f"library:{seed}")
        artists, albums, tracks = generate(opts.saved_tracks + 600)
        shows, episodes = generate_podcasts(opts.shows)
        self.artists: dict[str, Artist] = {a.id: a for a in artists}
        self.albums: dict[str, Album] = {a.id: a for a in albums}
        self.tracks: dict[str, Track] = {t.id: t for t in tracks}
        self.shows: dict[str, Show] = {s.id: s for s in shows}
        self.episodes: dict[str, Episode] = {e.id: e for e in episodes}
        # the generated items name one another by key; the Web API by id
        self.ids: dict[str, str] = {**{a.key: a.id for a in artists},
                                    **{a.key: a.id for a in albums},
                                    **{s.key: s.id for s in shows}}
        self.album_tracks: dict[str, list[str]] = {a.id: [] for a in albums}
        for t in tracks:
            self.album_tracks[self.ids[t.album]].append(t.id)
        self.show_episodes: dict[str, list[str]] = {s.id: [] for s in shows}
        for e in episodes:
            self.show_episodes[self.ids[e.show]].append(e.id)
        track_ids = list(self.tracks)
        rng.shuffle(track_ids)
        # (id, added_at ms), newest first, spread over about eight years
        self.saved: dict[str, list[tuple[str, int]]] = {
            "tracks": self._added(rng, track_ids[:opts.saved_tracks], now_ms, 8 * 365),
            "albums": self._added(rng, rng.sample(list(self.albums),
                                                  min(opts.saved_albums, len(self.albums))),
                                  now_ms, 6 * 365),
            "shows": self._added(rng, list(self.shows), now_ms, 3 * 365),
            "episodes": self._added(rng, rng.sample(list(self.episodes),
                                                    min(opts.saved_episodes, len(self.episodes))),
                                    now_ms, 2 * 365),
        }
        artist_ids = list(self.artists)
        self.followed: list[str] = rng.sample(artist_ids, min(opts.followed_artists,
                                                              len(artist_ids)))
        self.top: dict[str, dict[str, list[str]]] = {
            "tracks": {term: rng.sample(track_ids[:opts.saved_tracks + 200],
                                        min(opts.top_items, len(track_ids)))
                       for term in ("short_term", "medium_term", "long_term")},
            "artists": {term: rng.sample(artist_ids, min(opts.top_items, len(artist_ids)))
                        for term in ("short_term", "medium_term", "long_term")},
        }
        self.playlists: list[Playlist] = self._make_playlists(rng, track_ids, now_ms)

    # --- generation --------------------------------------------------------------------------

    def _title(self, rng: random.Random) -> str:
        return f"{rng.choice(_WORDS)} {rng.choice(_NOUNS)}"

    @staticmethod
    def _added(rng: random.Random, ids: list[str], now_ms: int, days: int) -> list[tuple[str, int]]:
        times = sorted((now_ms - rng.randint(1, days * _DAY_MS) // 1000 * 1000 for _ in ids),
                       reverse=True)
        return list(zip(ids, times, strict=True))

    def _make_playlists(self, rng: random.Random, track_ids: list[str],
                        now_ms: int) -> list[Playlist]:
        n = self.options.playlists
        sizes = [1, 600] + [rng.choice((5, 12, 20, 30, 45, 60, 80, 120, 200, 350))
                            for _ in range(max(0, n - 2))]
        playlists: list[Playlist] = []
        for i in range(n):
            size = sizes[i]
            # about one in eight is another user's, followed; one in eight collaborative
            followed = i % 8 == 5
            collaborative = i % 8 == 6
            owner_id = FRIEND_ID if followed or collaborative else self.user_id
            owner_name = "Frankie Friend" if owner_id == FRIEND_ID else self.display_name
            start = now_ms - rng.randint(30, 5 * 365) * _DAY_MS
            entries = []
            for uri in (f"spotify:track:{t}" for t in rng.sample(track_ids, min(size,
                                                                                 len(track_ids)))):
                start += rng.randint(60_000, 20 * _DAY_MS // max(1, size // 10))
                adder = (rng.choice((self.user_id, FRIEND_ID)) if collaborative else owner_id)
                entries.append(Entry(uri, min(start, now_ms), adder))
            playlists.append(Playlist(
                spotify_id(f"lib-playlist:{i}"), f"{self._title(rng)} ({i + 1})", owner_id,
                owner_name, collaborative, not collaborative and rng.random() < 0.5,
                rng.choice(("", "", "Songs for the way home", "Sunday mornings", "Loud")),
                entries))
        if n >= 3:
            mixed = playlists[2]
            mixed.name = "Odds and Ends"
            mixed.entries.insert(1, Entry(None, now_ms - 400 * _DAY_MS, self.user_id,
                                          ("My Demo (take 3)", "Me", "Voice Memos", 143_000)))
            mixed.entries.insert(2, Entry(None, now_ms - 390 * _DAY_MS, self.user_id))
            first_episode = next(iter(self.episodes), None)
            if first_episode is not None:
                mixed.entries.append(Entry(f"spotify:episode:{first_episode}",
                                           now_ms - 10 * _DAY_MS, self.user_id))
        return playlists

    # --- look-ups ----------------------------------------------------------------------------

    def playlist(self, playlist_id: str) -> Playlist | None:
        return next((p for p in self.playlists if p.id == playlist_id), None)

    def readable(self, playlist: Playlist) -> bool:
        """Spotify's 2026 rule: items only for the owner and collaborators."""
        return playlist.owner_id == self.user_id or playlist.collaborative

    # --- changes (the admin API) -------------------------------------------------------------

    def save(self, uris: list[str], now_ms: int) -> int:
        """Save track, album, show or episode URIs at the top of the library; returns how many
        were new."""
        added = 0
        for uri in uris:
            kind, item_id = _split(uri)
            known: dict[str, set[str]] = {"tracks": set(self.tracks), "albums": set(self.albums),
                                          "shows": set(self.shows), "episodes": set(self.episodes)}
            if item_id not in known[kind]:
                raise ValueError(f"unknown {kind[:-1]}: {uri}")
            held = self.saved[kind]
            if any(i == item_id for i, _ in held):
                continue
            held.insert(0, (item_id, now_ms))
            added += 1
        return added

    def remove(self, uris: list[str]) -> int:
        """Remove saved items; returns how many were there."""
        removed = 0
        for uri in uris:
            kind, item_id = _split(uri)
            before = len(self.saved[kind])
            self.saved[kind] = [(i, t) for i, t in self.saved[kind] if i != item_id]
            removed += before - len(self.saved[kind])
        return removed

    def edit_playlist(self, playlist_id: str, *, add: list[str] | None = None,
                      remove: list[str] | None = None, name: str | None = None,
                      now_ms: int) -> Playlist:
        """Add URIs at the end, remove every occurrence of others, rename: a new snapshot."""
        playlist = self.playlist(playlist_id)
        if playlist is None:
            raise ValueError(f"no playlist {playlist_id}")
        for uri in add or ():
            kind, item_id = _split(uri)
            if item_id not in (self.tracks if kind == "tracks" else self.episodes):
                raise ValueError(f"unknown item: {uri}")
            playlist.entries.append(Entry(uri, now_ms, self.user_id))
        gone = set(remove or ())
        playlist.entries = [e for e in playlist.entries if e.uri not in gone]
        if name:
            playlist.name = name
        playlist.version += 1
        return playlist

    def summary(self) -> dict[str, Any]:
        """What the library holds, for tests and the admin API."""
        return {
            "saved": {kind: len(held) for kind, held in self.saved.items()},
            "saved_track_uris": [f"spotify:track:{i}" for i, _ in self.saved["tracks"]],
            "unsaved_track_uris": [f"spotify:track:{i}" for i in self.tracks
                                   if i not in {s for s, _ in self.saved["tracks"]}][:200],
            "playlists": [{"id": p.id, "name": p.name, "owner_id": p.owner_id,
                           "collaborative": p.collaborative, "items": len(p.entries),
                           "snapshot_id": p.snapshot_id, "readable": self.readable(p)}
                          for p in self.playlists],
            "followed_artists": len(self.followed),
        }


def _split(uri: str) -> tuple[str, str]:
    parts = uri.split(":")
    if len(parts) != 3 or parts[0] != "spotify" or parts[1] not in ("track", "album", "show",
                                                                     "episode"):
        raise ValueError(f"not a track, album, show or episode URI: {uri!r}")
    return parts[1] + "s", parts[2]
