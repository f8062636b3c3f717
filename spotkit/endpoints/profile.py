"""The current user's profile."""

from __future__ import annotations

from typing import Any

from ..errors import MalformedResponse
from ._base import Endpoint, EndpointGroup

__all__ = ["ProfileEndpoints"]

_ME = Endpoint("GET", "/me")


class ProfileEndpoints(EndpointGroup):
    """``GET /me``."""

    def me(self) -> dict[str, Any]:
        """The current user's profile (``GET /me``) as Spotify sends it; every field optional.

        Raises:
            MalformedResponse: when the body is not a JSON object.
        """
        body = self._call(_ME)
        if not isinstance(body, dict):
            raise MalformedResponse("Spotify sent no user profile for GET /me.")
        return body

    def library_user(self) -> str:
        """The user the library cache keys by: the logged-in user of the token source when it
        knows (no call), else the ``id`` of :meth:`me` (one call, remembered)."""
        user = getattr(self, "_library_user", None)
        if isinstance(user, str):
            return user
        user = getattr(self._http.auth, "user_id", None)
        if not isinstance(user, str) or not user:
            user = self.me().get("id")
            if not isinstance(user, str) or not user:
                raise MalformedResponse("Spotify sent a user profile without an id for GET /me.")
        self._library_user = user
        return user
