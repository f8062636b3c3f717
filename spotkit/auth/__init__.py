"""Logging in to Spotify and keeping the token fresh.

* :func:`login` / :class:`LoginFlow`: the authorization code flow (PKCE without a client secret)
  through a one-shot loopback listener;
* :class:`TokenManager`: what the client uses: a valid token, refreshed once however many threads
  and processes ask;
* :class:`TokenCache`: the private, atomically written token file; :class:`Token`: the value.

Names load on first use, so `import spotkit.auth.cache` does not pull in requests. The `login()`
function is `spotkit.login` (or `spotkit.auth.login.login`): `spotkit.auth.login` stays the module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "CachedLogin": "spotkit.auth.cache",
    "TokenCache": "spotkit.auth.cache",
    "LoginFlow": "spotkit.auth.login",
    "Token": "spotkit.auth.token",
    "TokenManager": "spotkit.auth.tokens",
}

__all__ = ["CachedLogin", "LoginFlow", "Token", "TokenCache", "TokenManager"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:
    from .cache import CachedLogin, TokenCache
    from .login import LoginFlow
    from .token import Token
    from .tokens import TokenManager
