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
