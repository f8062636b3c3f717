"""Catalogue metadata for what you play: a cache of tracks, albums and artists, paced fetching,
and :func:`enrich`, which adds release dates, album ids, explicit flags, ISRCs and genres to rows.

- :mod:`.cache`: the SQLite metadata cache (each item fetched at most once per ``max_age``)
- :mod:`.pacing`: the client-side budget that keeps under Spotify's rolling window
- :mod:`.job`: one enrichment run (plan, fetch most-played first, add columns)
- :mod:`.background`: the same run in a background thread, with a handle
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from .background import EnrichHandle
from .cache import DEFAULT_MAX_AGE, MetadataCache, default_metadata_path
from .job import WHAT, CatalogueClient, Enrichment, EnrichProgress, run_in_foreground
from .pacing import Pacer

__all__ = [
    "DEFAULT_MAX_AGE",
    "WHAT",
    "EnrichHandle",
    "EnrichProgress",
    "Enrichment",
    "MetadataCache",
    "Pacer",
    "default_metadata_path",
    "enrich",
]


def enrich(data: Any, what: str | Iterable[str] = WHAT, *, client: CatalogueClient | None = None,
           cache: MetadataCache | str | os.PathLike[str] | None = None,
           max_age: timedelta | float = DEFAULT_MAX_AGE, limit: int | None = None,
           background: bool = False, progress: bool | None = None, pacer: Pacer | None = None,
           max_wait: float = 120.0) -> Any:
    """Add catalogue columns to every row with a track `item_uri`.

    Columns per kind in `what`: tracks: ``release_date``, ``release_year``, ``album_id``,
    ``explicit``, ``isrc``, ``popularity`` (None since 2026 in development mode), ``artist_ids``;
    albums: ``release_date``, ``release_year``, ``album_type``, ``label``; artists: ``genres``
    (", "-joined over the track's artists). Unknown values are None (NA in a frame).

    Items come from the metadata cache when it has them younger than `max_age`; the rest are
    fetched one a call, most-played first, paced under Spotify's rate limit, each cached as it
    arrives (a killed run loses nothing: run it again to go on).

    Args:
        data: a DataFrame with ``item_uri`` (history, library...), records with it, or URIs.
        what: "tracks", "albums", "artists", or several.
        client: a :class:`spotkit.Spotify` (default: the default client).
        cache: a :class:`MetadataCache` or its path (default ``metadata.sqlite3`` in spotkit's
            data folder).
        max_age: how old a cached item may be (default 30 days).
        limit: fetch at most this many items now (None: everything missing).
        background: run in a thread and return an :class:`EnrichHandle` at once.
        progress: a tqdm.auto bar; None: where someone sees it, False: never.
        pacer: the rate budget (default: learned from 429s and kept in the cache).
        max_wait: the longest Retry-After waited out (seconds); longer ends the run.

    Returns:
        A new DataFrame (or new records) with the columns added; with `background`, a handle
        whose ``result()`` gives it.

    Raises:
        ValueError: `what` or `limit` is wrong, or a frame has no ``item_uri``.
        RateLimited: Spotify asked to wait more than `max_wait` (everything fetched is kept).
        SpotkitError: the cache cannot be used, or Spotify could not be reached.
    """
    job = Enrichment(data, what, client=client, cache=cache, max_age=max_age, limit=limit,
                     pacer=pacer, max_wait=max_wait)
    if background:
        return EnrichHandle(job, progress)
    return run_in_foreground(job, progress)
