"""The library cache: saved items, playlists and top items kept in SQLite, refreshed incrementally.

:class:`~.cache.LibraryCache` holds the refresh rules, :class:`~.store.LibraryStore` the file.
`Spotify`'s library methods read through a cache opened on first use.
"""

from __future__ import annotations

from .cache import LibraryCache, Refresh
from .store import LibraryStore, default_cache_path

__all__ = ["LibraryCache", "LibraryStore", "Refresh", "default_cache_path"]
