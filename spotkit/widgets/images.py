"""Album art for the now-playing card: downloaded with a timeout, the last few kept by URL."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..logs import logger

__all__ = ["ImageFetcher"]


class ImageFetcher:
    """Downloads album art with a timeout and keeps the last few images by URL."""

    def __init__(self, timeout: float = 5.0, keep: int = 32) -> None:
        self.timeout = timeout
        self.keep = keep
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._session: Any = None

    def __call__(self, url: str) -> bytes | None:
        cached = self._cache.get(url)
        if cached is not None:
            self._cache.move_to_end(url)
            return cached
        import requests

        if self._session is None:
            self._session = requests.Session()
        try:
            resp = self._session.get(url, timeout=(3.05, self.timeout))
        except requests.RequestException as exc:
            logger.debug("album art not fetched: %s", type(exc).__name__)
            return None
        if resp.status_code != 200 or not resp.content:
            return None
        self._cache[url] = resp.content
        while len(self._cache) > self.keep:
            self._cache.popitem(last=False)
        return bytes(resp.content)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
