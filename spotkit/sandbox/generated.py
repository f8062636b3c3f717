"""The sandbox's made-up catalogue: thousands of artists, albums and tracks, and podcasts, the same
every time.

The curated catalogue (a dozen tracks) is what the player plays; the catalogue grown for enrichment
and the user's generated library (:mod:`.library`) both draw on this one generator.
:func:`generate` and :func:`generate_podcasts` derive every item from its index alone, so two
sandboxes asked for the same size hold the same ids, names, dates and genres, and a larger size
only adds items.
"""

from __future__ import annotations

import hashlib

from .catalogue import Album, Artist, Episode, Show, Track

__all__ = ["GENRES", "generate", "generate_podcasts"]

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


def _artist_name(i: int) -> str:
    """A name no other generated artist has: two words, and a number past the pairs there are."""
    pairs = len(_WORDS) ** 2
    first, second = divmod((i * 337 + 11) % pairs, len(_WORDS))  # 337 is prime to 28 ** 2
    name = f"{_WORDS[first]} {_WORDS[second]}"
    return name if i < pairs else f"{name} {i // pairs + 1}"


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
    artists = [Artist(f"gen-artist-{i}", _artist_name(i), _genres(f"genres:{i}"),
                      _n(f"popularity:{i}") % 91 + 5, _n(f"followers:{i}") % 3_000_000 + 100)
               for i in range(artist_count)]
    albums = []
    for i in range(album_count):
        date, precision = _release(f"album:{i}")
        kind = "album" if i % 4 else ("single" if i % 8 else "compilation")
        albums.append(Album(f"gen-album-{i}", _name(f"album:{i}", 2), kind,
                            (artists[i // albums_per_artist].key,), date, precision,
                            f"{_name(f'label:{i}', 1)} Records"))
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
                         1 + i % per_album, explicit=(n >> 40) % 7 == 0,
                         popularity=(n >> 48) % 101))
    return artists, albums, out


def generate_podcasts(shows: int) -> tuple[list[Show], list[Episode]]:
    """`shows` generated podcasts with 5 to 15 episodes each, released 2022-2026.

    Raises:
        ValueError: for a negative `shows`.
    """
    if shows < 0:
        raise ValueError("shows must be >= 0")
    made: list[Show] = []
    episodes: list[Episode] = []
    for i in range(shows):
        publisher = f"{_name(f'publisher:{i}', 1)} Media"
        show = Show(f"gen-show-{i}", f"The {_name(f'show:{i}', 2)} Podcast", publisher,
                    f"Conversations from {publisher}.")
        made.append(show)
        for e in range(5 + _n(f"episodes:{i}") % 11):
            n = _n(f"episode:{i}:{e}")
            name = f"Episode {e + 1}: {_name(f'episode:{i}:{e}', 2)}"
            episodes.append(Episode(
                f"gen-episode-{i}-{e}", name, show.key, 900_000 + n % 4_500_000,
                f"{2022 + (n >> 24) % 5}-{1 + (n >> 32) % 12:02d}-{1 + (n >> 40) % 28:02d}",
                f"{name}."))
    return made, episodes
