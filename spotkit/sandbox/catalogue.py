"""The sandbox's music: a dozen tracks, two podcast episodes, one user, and their cover art.

Objects are rendered as Spotify's JSON (TrackObject, EpisodeObject, ...) with `href` pointing at the
sandbox's /v1 and images served by the sandbox itself as PNGs made with zlib + struct.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALBUMS",
    "ARTISTS",
    "EPISODES",
    "SHOWS",
    "TRACKS",
    "Catalogue",
    "png",
    "spotify_id",
]

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MARKETS = ["DE", "FR", "GB", "IS", "NL", "SE", "US"]


def spotify_id(seed: str) -> str:
    """A stable 22-character base62 id, like Spotify's, derived from `seed`."""
    n = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(22):
        n, r = divmod(n, 62)
        chars.append(_BASE62[r])
    return "".join(chars)


def _hex_id(seed: str) -> str:
    return hashlib.sha1(seed.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Artist:
    key: str
    name: str
    genres: tuple[str, ...] = ()
    popularity: int = 50   # popularity and followers: sent only with legacy fields
    followers: int = 0

    @property
    def id(self) -> str:
        return spotify_id("artist:" + self.key)


@dataclass(frozen=True)
class Album:
    key: str
    name: str
    album_type: str
    artists: tuple[str, ...]
    release_date: str
    release_date_precision: str
    label: str = "Sandbox Records"

    @property
    def id(self) -> str:
        return spotify_id("album:" + self.key)


@dataclass(frozen=True)
class Track:
    key: str
    name: str
    album: str
    artists: tuple[str, ...]
    duration_ms: int
    track_number: int
    explicit: bool = False
    popularity: int = 50

    @property
    def id(self) -> str:
        return spotify_id("track:" + self.key)

    @property
    def uri(self) -> str:
        return f"spotify:track:{self.id}"


@dataclass(frozen=True)
class Show:
    key: str
    name: str
    publisher: str
    description: str

    @property
    def id(self) -> str:
        return spotify_id("show:" + self.key)


@dataclass(frozen=True)
class Episode:
    key: str
    name: str
    show: str
    duration_ms: int
    release_date: str
    description: str

    @property
    def id(self) -> str:
        return spotify_id("episode:" + self.key)

    @property
    def uri(self) -> str:
        return f"spotify:episode:{self.id}"


ARTISTS: dict[str, Artist] = {a.key: a for a in (
    Artist("boats", "The Paper Boats", ("indie pop", "dream pop")),
    Artist("nova", "Nova Lyre", ("synthwave",)),
    Artist("mira", "Mira Okafor", ("neo soul", "soul")),
    Artist("juno", "Juno Vale", ("deep house",)),
    Artist("sundial", "DJ Sundial", ("techno", "deep house")),
    Artist("olafur", "Ólafur Ragnarsson", ("ambient", "nordic jazz")),
    Artist("kettle", "Kettle & Crane"),  # no genres: Spotify has not classified every artist
)}

ALBUMS: dict[str, Album] = {a.key: a for a in (
    Album("harbour", "Harbour Lights", "album", ("boats",), "2019-05-17", "day"),
    Album("glasshouse", "Glasshouse", "album", ("nova",), "2021", "year"),
    Album("pulse", "Pulse Theory", "single", ("sundial", "juno"), "2023-11", "month"),
    Album("fjordur", "Fjörður", "album", ("olafur",), "2018-02-09", "day"),
    Album("kettle", "Kettle Songs, Vol. 1", "compilation", ("kettle",), "2024-03-01", "day"),
)}

TRACKS: dict[str, Track] = {t.key: t for t in (
    Track("low-tide", "Low Tide", "harbour", ("boats",), 184_000, 1, popularity=61),
    Track("lanterns", "Lanterns", "harbour", ("boats",), 231_500, 2, popularity=55),
    Track("prism", "Prism", "glasshouse", ("nova",), 156_000, 1, popularity=70),
    Track("night-bus", "Night Bus to Nowhere", "glasshouse", ("nova", "mira"), 263_333, 2,
          explicit=True, popularity=74),
    Track("pulse", "Pulse Theory", "pulse", ("sundial", "juno"), 212_000, 1, popularity=66),
    Track("nordurljos", "Norðurljós", "fjordur", ("olafur",), 298_765, 1, popularity=42),
    Track("whistle", "Whistle While It Boils", "kettle", ("kettle", "mira", "juno"), 142_000, 1,
          popularity=38),
    Track("quiet-machines", "Quiet Machines", "glasshouse", ("nova",), 95_000, 3, popularity=47),
    Track("salt", "Salt in the Wires", "harbour", ("boats",), 402_066, 3, popularity=52),
    Track("hafid", "Hafið", "fjordur", ("olafur",), 187_654, 2, popularity=40),
    Track("pulse-extended", "Pulse Theory - Extended Mix", "pulse", ("sundial", "juno"), 351_000, 2,
          popularity=33),
    Track("crane-dance", "Crane Dance", "kettle", ("kettle",), 205_000, 2, explicit=True,
          popularity=45),
)}

SHOWS: dict[str, Show] = {s.key: s for s in (
    Show("sandbox-hour", "The Sandbox Hour", "Spotkit Radio",
         "Two developers talk about testing against services that are not there."),
    Show("deep-listening", "Deep Listening", "Quiet Room Media",
         "Long conversations about how people listen to music."),
)}

EPISODES: dict[str, Episode] = {e.key: e for e in (
    Episode("testing-in-production", "Episode 12: Testing in Production", "sandbox-hour",
            1_800_000, "2026-03-04", "Why a fake server that behaves like the real one pays off."),
    Episode("cursors", "Cursors All the Way Down", "deep-listening", 2_712_000, "2026-05-19",
            "Pagination, timestamps and the fifty most recent plays."),
)}

PLAYLIST_ID = spotify_id("playlist:sandbox-mix")
PLAYLIST_URI = f"spotify:playlist:{PLAYLIST_ID}"


def _color(seed: str, salt: str) -> tuple[int, int, int]:
    d = hashlib.sha256((salt + seed).encode("utf-8")).digest()
    return d[0], d[1], d[2]


def png(width: int, height: int, seed: str) -> bytes:
    """A small, valid RGB PNG: a vertical gradient with a centred square, colours from `seed`."""
    top, bottom, square = _color(seed, "top"), _color(seed, "bottom"), _color(seed, "square")
    x0, x1 = width // 4, width - width // 4
    y0, y1 = height // 4, height - height // 4
    sq = bytes(square) * (x1 - x0)
    rows = []
    for y in range(height):
        t = y / max(1, height - 1)
        px = bytes(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=False))
        row = px * x0 + sq + px * (width - x1) if y0 <= y < y1 else px * width
        rows.append(b"\x00" + row)
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


# fields Spotify marked deprecated in 2026 for development-mode apps (see SCHEMAS.md)
_DEPRECATED = {
    "track": ("available_markets", "linked_from", "popularity", "preview_url"),
    "album": ("available_markets", "popularity"),
    "episode": ("audio_preview_url", "language"),
    "show": ("available_markets", "publisher"),
    "user": ("country", "email", "explicit_content", "followers", "product"),
}


class Catalogue:
    """Renders the catalogue as Spotify JSON for one sandbox (its base URL) and serves the art."""

    def __init__(self, base_url: str, legacy_fields: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/v1"
        self.legacy_fields = legacy_fields
        self._images: dict[str, tuple[int, int, str]] = {}  # image id -> (width, height, seed)
        self._png_cache: dict[str, bytes] = {}
        self.artists: dict[str, Artist] = dict(ARTISTS)
        self.albums: dict[str, Album] = dict(ALBUMS)
        self.tracks_by_uri = {t.uri: t for t in TRACKS.values()}
        self.episodes_by_uri = {e.uri: e for e in EPISODES.values()}
        self._tracks_by_album: dict[str, list[Track]] = {}
        for t in TRACKS.values():
            self._tracks_by_album.setdefault(t.album, []).append(t)
        # single-item look-ups: id -> key (tracks: id -> uri)
        self.artist_keys = {a.id: a.key for a in self.artists.values()}
        self.album_keys = {a.id: a.key for a in self.albums.values()}
        self.track_uris = {t.id: t.uri for t in TRACKS.values()}
        self.generated = 0

    def extend(self, tracks: int) -> list[str]:
        """Grow the catalogue to `tracks` generated tracks (see :mod:`.generated`); their URIs."""
        from .generated import generate

        artists, albums, made = generate(tracks)
        for artist in artists:
            self.artists[artist.key] = artist
            self.artist_keys[artist.id] = artist.key
        for album in albums:
            self.albums[album.key] = album
            self.album_keys[album.id] = album.key
        for track in made[self.generated:]:
            self.tracks_by_uri[track.uri] = track
            self.track_uris[track.id] = track.uri
            self._tracks_by_album.setdefault(track.album, []).append(track)
        self.generated = max(self.generated, tracks)
        return [t.uri for t in made]

    # ---- lookup
    def duration_ms(self, uri: str) -> int | None:
        item = self.tracks_by_uri.get(uri) or self.episodes_by_uri.get(uri)
        return item.duration_ms if item else None

    def album_tracks(self, album_id: str) -> list[str]:
        key = self.album_keys.get(album_id)
        return [t.uri for t in self._tracks_by_album.get(key, ())] if key else []

    # ---- images
    def images(self, seed: str, sizes: tuple[int, ...] = (640, 300, 64)) -> list[dict[str, Any]]:
        out = []
        for size in sizes:
            image_id = _hex_id(f"{seed}:{size}")
            self._images[image_id] = (size, size, seed)
            out.append({"url": f"{self.base_url}/images/{image_id}.png",
                        "height": size, "width": size})
        return out

    def image_png(self, image_id: str) -> bytes | None:
        if image_id not in self._png_cache:
            spec = self._images.get(image_id)
            if spec is None:
                return None
            self._png_cache[image_id] = png(*spec)
        return self._png_cache[image_id]

    # ---- JSON objects
    def _strip(self, kind: str, obj: dict[str, Any], dev_mode: bool = False) -> dict[str, Any]:
        if dev_mode or not self.legacy_fields:
            for name in _DEPRECATED[kind]:
                obj.pop(name, None)
        return obj

    def _links(self, kind: str, plural: str, id_: str) -> dict[str, Any]:
        return {
            "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{id_}"},
            "href": f"{self.api_url}/{plural}/{id_}",
            "id": id_,
            "type": kind,
            "uri": f"spotify:{kind}:{id_}",
        }

    def artist(self, key: str) -> dict[str, Any]:
        a = self.artists[key]
        return {**self._links("artist", "artists", a.id), "name": a.name}

    def album(self, key: str, dev_mode: bool = False) -> dict[str, Any]:
        a = self.albums[key]
        return self._strip("album", {
            "album_type": a.album_type,
            "artists": [self.artist(k) for k in a.artists],
            "available_markets": list(MARKETS),
            **self._links("album", "albums", a.id),
            "images": self.images("album:" + a.key),
            "name": a.name,
            "release_date": a.release_date,
            "release_date_precision": a.release_date_precision,
            "total_tracks": len(self._tracks_by_album.get(key, ())),
        }, dev_mode)

    def track(self, uri: str, dev_mode: bool = False) -> dict[str, Any]:
        t = self.tracks_by_uri[uri]
        isrc = "QZSBX" + str(int(hashlib.sha256(t.key.encode()).hexdigest(), 16))[:7]
        return self._strip("track", {
            "album": self.album(t.album, dev_mode),
            "artists": [self.artist(k) for k in t.artists],
            "available_markets": list(MARKETS),
            "disc_number": 1,
            "duration_ms": t.duration_ms,
            "explicit": t.explicit,
            "external_ids": {"isrc": isrc},
            **self._links("track", "tracks", t.id),
            "is_local": False,
            "name": t.name,
            "popularity": t.popularity,
            "preview_url": None,
            "track_number": t.track_number,
        }, dev_mode)

    # ---- single-item catalogue objects, as a development-mode app gets them since 2026
    def full_album(self, key: str) -> dict[str, Any]:
        """An AlbumObject (``GET /albums/{id}``): tracks, copyrights, external_ids, label."""
        a = self.albums[key]
        body = self.album(key, dev_mode=True)
        tracks = [self._simple_track(t) for t in self._tracks_by_album.get(key, ())]
        year = a.release_date[:4]
        body.update(
            tracks={"href": f"{self.api_url}/albums/{a.id}/tracks?offset=0&limit=50",
                    "items": tracks, "limit": 50, "next": None, "offset": 0, "previous": None,
                    "total": len(tracks)},
            copyrights=[{"text": f"{year} {self.artists[a.artists[0]].name}", "type": "C"},
                        {"text": f"{year} Sandbox Records", "type": "P"}],
            external_ids={"upc": str(int(hashlib.sha256(a.key.encode()).hexdigest(), 16))[:12]},
            genres=[],  # "always empty" (OpenAPI), kept as Spotify still sends it
            label="Sandbox Records",
        )
        return body

    def full_artist(self, key: str) -> dict[str, Any]:
        """An ArtistObject (``GET /artists/{id}``): genres and images, no followers or popularity."""
        a = self.artists[key]
        return {**self._links("artist", "artists", a.id), "genres": list(a.genres),
                "images": self.images("artist:" + a.key), "name": a.name}

    def _simple_track(self, t: Track) -> dict[str, Any]:
        return {
            "artists": [self.artist(k) for k in t.artists],
            "disc_number": 1,
            "duration_ms": t.duration_ms,
            "explicit": t.explicit,
            **self._links("track", "tracks", t.id),
            "is_local": False,
            "name": t.name,
            "track_number": t.track_number,
        }

    def show(self, key: str) -> dict[str, Any]:
        s = SHOWS[key]
        return self._strip("show", {
            "available_markets": list(MARKETS),
            "copyrights": [],
            "description": s.description,
            "html_description": f"<p>{s.description}</p>",
            "explicit": False,
            **self._links("show", "shows", s.id),
            "images": self.images("show:" + s.key),
            "is_externally_hosted": False,
            "languages": ["en"],
            "media_type": "audio",
            "name": s.name,
            "publisher": s.publisher,
            "total_episodes": sum(1 for e in EPISODES.values() if e.show == key),
        })

    def episode(self, uri: str) -> dict[str, Any]:
        e = self.episodes_by_uri[uri]
        return self._strip("episode", {
            "audio_preview_url": None,
            "description": e.description,
            "html_description": f"<p>{e.description}</p>",
            "duration_ms": e.duration_ms,
            "explicit": False,
            **self._links("episode", "episodes", e.id),
            "images": self.images("show:" + e.show),
            "is_externally_hosted": False,
            "is_playable": True,
            "language": "en",
            "languages": ["en"],
            "name": e.name,
            "release_date": e.release_date,
            "release_date_precision": "day",
            "resume_point": {"fully_played": False, "resume_position_ms": 0},
            "show": self.show(e.show),
        })

    def item(self, uri: str) -> dict[str, Any]:
        return self.track(uri) if uri in self.tracks_by_uri else self.episode(uri)

    def context(self, uri: str | None) -> dict[str, Any] | None:
        """A ContextObject for a playlist, album or show URI (None stays None)."""
        if uri is None:
            return None
        _, kind, id_ = uri.split(":", 2)
        links = self._links(kind, kind + "s", id_)
        return {"type": kind, "href": links["href"], "external_urls": links["external_urls"],
                "uri": uri}

    def episode_context(self, uri: str) -> str:
        return f"spotify:show:{SHOWS[self.episodes_by_uri[uri].show].id}"

    def track_album_context(self, uri: str) -> str:
        return f"spotify:album:{self.albums[self.tracks_by_uri[uri].album].id}"

    def user(self, user: dict[str, Any], scopes: frozenset[str] | None = None) -> dict[str, Any]:
        """A PrivateUserObject; email needs user-read-email, country/product user-read-private."""
        uid = user["id"]
        body: dict[str, Any] = {
            "account_id": user["account_id"],
            "display_name": user["display_name"],
            "external_urls": {"spotify": f"https://open.spotify.com/user/{uid}"},
            "href": f"{self.api_url}/users/{uid}",
            "id": uid,
            "images": self.images("user:" + uid, (300, 64)),
            "type": "user",
            "uri": f"spotify:user:{uid}",
            "followers": {"href": None, "total": user.get("followers", 0)},
        }
        if scopes is None or "user-read-private" in scopes:
            body["country"] = user["country"]
            body["product"] = user["product"]
            body["explicit_content"] = {"filter_enabled": False, "filter_locked": False}
        if scopes is None or "user-read-email" in scopes:
            body["email"] = user["email"]
        return self._strip("user", body)
