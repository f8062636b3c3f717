"""`Spotify`'s endpoints grouped by area, one module each, composed into the one client class.

- :mod:`.profile`: ``GET /me``
- :mod:`.player`: playback state, currently and recently played, playback control
- :mod:`.library`: top items, saved tracks, albums, shows and episodes, followed artists
- :mod:`.playlists`: the user's playlists and a playlist's items
- :mod:`.catalogue`: single tracks, albums and artists
- :mod:`.writes`: creating and filling playlists, saving to and removing from the library
- :mod:`._base`: the :class:`~._base.Endpoint` declaration (method, path, scopes) and the call
- :mod:`.paging`: offset and cursor paging, written once

Each group is a mixin over :class:`~._base.EndpointGroup`; :class:`spotkit.client.Spotify` owns the
transport and composes them.
"""

from __future__ import annotations

from ._base import ENDPOINTS, Endpoint, EndpointGroup
from .catalogue import CatalogueEndpoints
from .library import LibraryEndpoints
from .player import PlayerEndpoints
from .playlists import PlaylistEndpoints
from .profile import ProfileEndpoints
from .writes import WriteEndpoints

__all__ = ["ENDPOINTS", "CatalogueEndpoints", "Endpoint", "EndpointGroup", "LibraryEndpoints",
           "PlayerEndpoints", "PlaylistEndpoints", "ProfileEndpoints", "WriteEndpoints"]
