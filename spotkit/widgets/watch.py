"""`WatchSensor`: the now-playing card's eyes in the browser, a small front-end module on anywidget.

anywidget ships the ES module in `watch.js` to the browser as it is (no build step, no npm, no
network: its JupyterLab extension comes in its wheel). Each view of the sensor observes the card
that contains it and sends ``{"kind": "watch", "view": <id>, "watched": <bool>}`` when that
changes, and again every `renew_ms` while watched; :meth:`WatchSensor.on_watch` hands those to a
callback in the kernel thread. The sensor itself is invisible and hidden from screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..logs import logger
from .attention import DEFAULT_LEASE

__all__ = ["WatchSensor"]


class WatchSensor(anywidget.AnyWidget):
    """An invisible widget that reports whether the element matching `card_selector` around it
    is on screen in a visible tab."""

    _esm = Path(__file__).with_name("watch.js")
    card_selector = traitlets.Unicode(".spotkit-now-playing").tag(sync=True)
    renew_ms = traitlets.Int(int(DEFAULT_LEASE * 1000 / 3)).tag(sync=True)

    def on_watch(self, callback: Callable[[str, bool], None]) -> None:
        """Call `callback(view_id, watched)` for each report from a view (kernel thread)."""

        def handle(_widget: Any, content: Any, _buffers: Any) -> None:
            if not isinstance(content, Mapping) or content.get("kind") != "watch":
                return
            view, watched = content.get("view"), content.get("watched")
            if isinstance(view, str) and isinstance(watched, bool) and len(view) <= 100:
                callback(view, watched)
            else:
                logger.debug("ignored a malformed watch report")

        self.on_msg(handle)
