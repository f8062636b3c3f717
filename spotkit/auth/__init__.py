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

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "CachedLogin": "spotkit.auth.cache",
    "TokenCache": "spotkit.auth.cache",
    "LoginFlow": "spotkit.auth.login",
    "Token": "spotkit.auth.token",
    "TokenManager": "spotkit.auth.tokens",
}

__all__ = ["CachedLogin", "LoginFlow", "Token", "TokenCache", "TokenManager"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spotkit.auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from .cache import CachedLogin, TokenCache
    from .login import LoginFlow
    from .token import Token
    from .tokens import TokenManager
