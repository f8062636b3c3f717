"""A larger catalogue on demand: thousands of made-up artists, albums and tracks, the same every time.

The curated catalogue (a dozen tracks) is what the player plays; enrichment and library benchmarks
need thousands of distinct items. :func:`generate` derives them from their index alone, so two
sandboxes asked for the same size hold the same ids, names, dates and genres.
"""

from __future__ import annotations

import hashlib

from .catalogue import Album, Artist, Track

__all__ = ["GENRES", "generate"]

GENRES = (
    "indie pop", "dream pop", "shoegaze", "synthwave", "techno", "deep house", "ambient",
    "folk", "americana", "jazz", "nordic jazz", "hip hop", "trip hop", "soul", "neo soul",
    "post-rock", "math rock", "punk", "metal", "classical", "bossa nova", "afrobeat",
)
_WORDS = (
    "Amber", "Echo", "Harbour", "Velvet", "Signal", "Copper", "Winter", "Static", "Lantern",
    "Orbit", "Meadow", "Paper", "Neon", "Silver", "Hollow", "Tide", "Glass", "Ember", "Quiet",
    "Northern", "Satellite", "Marble", "Cinder", "Saffron", "Willow", "Atlas", "Drift", "Fable",
)
_PRECISIONS = ("day", "day", "day", "month", "year")


def _n(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big")


def _name(seed: str, words: int) -> str:
    n = _n(seed)
    parts = []
    for _ in range(words):
        n, r = divmod(n, len(_WORDS))
        parts.append(_WORDS[r])
    return " ".join(parts)


def _release(seed: str) -> tuple[str, str]:
    n = _n(seed)
    year = 1962 + n % 64
    month, day = 1 + (n >> 8) % 12, 1 + (n >> 16) % 28
    precision = _PRECISIONS[(n >> 24) % len(_PRECISIONS)]
    if precision == "year":
        return f"{year}", precision
    if precision == "month":
        return f"{year}-{month:02d}", precision
    return f"{year}-{month:02d}-{day:02d}", precision


def _genres(seed: str) -> tuple[str, ...]:
    n = _n(seed)
    count = n % 4  # some artists have no genre at all, as on Spotify
    picked: list[str] = []
    for i in range(count):
        genre = GENRES[(n >> (8 * (i + 1))) % len(GENRES)]
        if genre not in picked:
            picked.append(genre)
    return tuple(picked)


def generate(tracks: int, *, per_album: int = 5, albums_per_artist: int = 2
             ) -> tuple[list[Artist], list[Album], list[Track]]:
    """`tracks` generated tracks with their albums (`per_album` tracks each) and artists.

    Every album has one main artist; about one track in six features a second one. A larger
    `tracks` only adds items: the first ones stay exactly as a smaller call made them.
    """
    if tracks < 0:
        raise ValueError("tracks must be >= 0")
    album_count = -(-tracks // per_album)
    artist_count = -(-album_count // albums_per_artist)
    artists = [Artist(f"gen-artist-{i}", _name(f"artist:{i}", 2), _genres(f"genres:{i}"))
               for i in range(artist_count)]
    albums = []
    for i in range(album_count):
        date, precision = _release(f"album:{i}")
        kind = "album" if i % 4 else ("single" if i % 8 else "compilation")
        albums.append(Album(f"gen-album-{i}", _name(f"album:{i}", 2), kind,
                            (artists[i // albums_per_artist].key,), date, precision))
    out = []
    for i in range(tracks):
        album_index = i // per_album
        main = album_index // albums_per_artist
        n = _n(f"track:{i}")
        credited = albums[album_index].artists
        featured = artists[(n >> 8) % (main + 1)].key  # an artist at least as old: stable
        if n % 6 == 0 and featured not in credited:
            credited = (*credited, featured)
        out.append(Track(f"gen-track-{i}", _name(f"track:{i}", 2 + n % 2),
                         albums[album_index].key, credited, 90_000 + (n >> 16) % 300_000,
                         1 + i % per_album, explicit=(n >> 40) % 7 == 0))
    return artists, albums, out
