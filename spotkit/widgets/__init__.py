"""Notebook widgets: a one-click login button and a live now-playing card.

ipywidgets (and anywidget, for the card's small front-end module ``watch.js``) are imported by
the classes that draw, on first use: ``spotkit.widgets.scheduler`` and ``.attention`` (the timing
rules and who is watching, pure logic), ``.poller`` and ``.pool`` (the background thread, shared
by the cards of one client) work without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

__all__ = ["LoginButton", "NowPlayingPoller", "NowPlayingWidget", "PollPolicy", "PollScheduler",
           "login_button"]

_EXPORTS: dict[str, str] = {
    "LoginButton": "spotkit.widgets.login",
    "login_button": "spotkit.widgets.login",
    "NowPlayingWidget": "spotkit.widgets.now_playing",
    "NowPlayingPoller": "spotkit.widgets.poller",
    "PollPolicy": "spotkit.widgets.scheduler",
    "PollScheduler": "spotkit.widgets.scheduler",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:
    from .login import LoginButton, login_button
    from .now_playing import NowPlayingWidget
    from .poller import NowPlayingPoller
    from .scheduler import PollPolicy, PollScheduler
