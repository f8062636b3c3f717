"""An offline Spotify (accounts service + Web API) for tests, demos and notebooks.

It shares no code with spotkit's client side on purpose: it is the other party. `Sandbox` is
loaded on first use so that the pytest plugin in this package stays light to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Sandbox"]


def __getattr__(name: str) -> Any:
    if name == "Sandbox":
        from .server import Sandbox

        return Sandbox
    raise AttributeError(f"module 'spotkit.sandbox' has no attribute {name!r}")


if TYPE_CHECKING:
    from .server import Sandbox
