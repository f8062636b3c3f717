"""A synthetic copy of the data export Spotify lets a user download, for the sandbox's user.

Real exports take days to arrive, so tutorials and tests use this: years of plays of the sandbox's
catalogue with a plausible rhythm (evenings and weekends busier, skips, the odd podcast), written
in the two formats Spotify ships: the extended streaming history
(`Spotify Extended Streaming History/Streaming_History_Audio_<years>_<n>.json`) and the basic
account data (`Spotify Account Data/StreamingHistory_music_<n>.json`, the last year only).
"""

from __future__ import annotations

import itertools
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .catalogue import ALBUMS, ARTISTS, EPISODES, SHOWS, TRACKS

__all__ = ["write_data_export"]

_PLATFORMS = ("android", "ios", "osx", "windows", "web_player")
_COUNTRIES = ("GB", "GB", "GB", "DE", "IS")
# relative chance that a listening session starts at each hour of the day (UTC)
_WEEKDAY_HOURS = (1, 0, 0, 0, 0, 1, 3, 6, 8, 5, 3, 3, 5, 4, 3, 3, 4, 6, 8, 9, 9, 7, 4, 2)
_WEEKEND_HOURS = (2, 1, 1, 0, 0, 0, 1, 1, 2, 4, 6, 7, 7, 6, 6, 6, 6, 7, 8, 9, 9, 8, 6, 4)
_PER_FILE = 10_000  # real extended exports split their plays into files of roughly this size


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_data_export(directory: str | Path, *, years: float = 2.0, sessions_per_day: float = 2.5,
                      seed: int = 0, end: datetime | None = None) -> list[Path]:
    """Write a synthetic data export under `directory` and return the files written.

    Plays cover `years` up to `end` (default: the start of today, UTC). The same arguments always
    give the same files.
    """
    rng = random.Random(seed)
    end = end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=round(365 * years))
    tracks = list(TRACKS.values())
    # a few favourites get most of the plays, as in anyone's history
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(tracks))]
    rng.shuffle(weights)
    track_cum = list(itertools.accumulate(weights))
    episodes = list(EPISODES.values())
    hours_cum = {False: list(itertools.accumulate(_WEEKDAY_HOURS)),
                 True: list(itertools.accumulate(_WEEKEND_HOURS))}

    plays: list[dict[str, Any]] = []
    day = start
    while day < end:
        hours = hours_cum[day.weekday() >= 5]
        for _ in range(_poisson(rng, sessions_per_day)):
            t = day + timedelta(hours=rng.choices(range(24), cum_weights=hours)[0], minutes=rng.random() * 60)
            platform, country = rng.choice(_PLATFORMS), rng.choice(_COUNTRIES)
            shuffle = rng.random() < 0.4
            reason_start = "clickrow"
            if rng.random() < 0.06:  # a podcast session
                ep = rng.choice(episodes)
                played = int(ep.duration_ms * rng.uniform(0.2, 1.0))
                t += timedelta(milliseconds=played)
                plays.append(_episode_row(ep, t, played, platform, country))
                continue
            for _ in range(max(1, int(rng.expovariate(1 / 9)))):
                track = rng.choices(tracks, cum_weights=track_cum)[0]
                skipped = rng.random() < 0.18
                played = int(track.duration_ms * (rng.uniform(0.02, 0.6) if skipped else 1.0))
                t += timedelta(milliseconds=played)
                if t >= end:
                    break
                reason_end = "fwdbtn" if skipped else "trackdone"
                plays.append(_track_row(track.key, t, played, platform, country, reason_start,
                                        reason_end, shuffle, skipped))
                reason_start = reason_end
        day += timedelta(days=1)
    plays.sort(key=lambda p: str(p["ts"]))
    return _write(Path(directory), plays, end)


def _poisson(rng: random.Random, mean: float) -> int:
    n, t = 0, rng.expovariate(1.0)
    while t < mean:
        n += 1
        t += rng.expovariate(1.0)
    return n


def _track_row(key: str, t: datetime, played: int, platform: str, country: str,
               reason_start: str, reason_end: str, shuffle: bool, skipped: bool) -> dict[str, Any]:
    track = TRACKS[key]
    album = ALBUMS[track.album]
    return {
        "ts": _iso(t), "platform": platform, "ms_played": played, "conn_country": country,
        "master_metadata_track_name": track.name,
        "master_metadata_album_artist_name": ARTISTS[track.artists[0]].name,
        "master_metadata_album_album_name": album.name,
        "spotify_track_uri": track.uri,
        "episode_name": None, "episode_show_name": None, "spotify_episode_uri": None,
        "audiobook_title": None, "audiobook_uri": None, "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None,
        "reason_start": reason_start, "reason_end": reason_end, "shuffle": shuffle,
        "skipped": skipped, "offline": False, "offline_timestamp": None, "incognito_mode": False,
    }


def _episode_row(ep: Any, t: datetime, played: int, platform: str, country: str) -> dict[str, Any]:
    return {
        "ts": _iso(t), "platform": platform, "ms_played": played, "conn_country": country,
        "master_metadata_track_name": None, "master_metadata_album_artist_name": None,
        "master_metadata_album_album_name": None, "spotify_track_uri": None,
        "episode_name": ep.name, "episode_show_name": SHOWS[ep.show].name,
        "spotify_episode_uri": ep.uri,
        "audiobook_title": None, "audiobook_uri": None, "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None,
        "reason_start": "clickrow", "reason_end": "endplay", "shuffle": False, "skipped": False,
        "offline": False, "offline_timestamp": None, "incognito_mode": False,
    }


def _write(root: Path, plays: list[dict[str, Any]], end: datetime) -> list[Path]:
    written: list[Path] = []
    extended = root / "Spotify Extended Streaming History"
    extended.mkdir(parents=True, exist_ok=True)
    for n, i in enumerate(range(0, len(plays), _PER_FILE)):
        chunk = plays[i:i + _PER_FILE]
        first, last = chunk[0]["ts"][:4], chunk[-1]["ts"][:4]
        years = first if first == last else f"{first}-{last}"
        written.append(_dump(extended / f"Streaming_History_Audio_{years}_{n}.json", chunk))

    # the basic export: the last year of music only, minute precision, local names and no URIs
    account = root / "Spotify Account Data"
    account.mkdir(parents=True, exist_ok=True)
    cutoff = _iso(end - timedelta(days=365))
    basic = [
        {"endTime": p["ts"][:16].replace("T", " "), "artistName": p["master_metadata_album_artist_name"],
         "trackName": p["master_metadata_track_name"], "msPlayed": p["ms_played"]}
        for p in plays if p["spotify_track_uri"] and p["ts"] >= cutoff
    ]
    for n, i in enumerate(range(0, max(len(basic), 1), _PER_FILE)):
        written.append(_dump(account / f"StreamingHistory_music_{n}.json", basic[i:i + _PER_FILE]))
    return written


def _dump(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path
