"""Paging, written once: Spotify's paging objects, offset or cursor, followed by their `next`.

A paging object is ``{"items": [...], "next": URL or null, "total": N, "limit": L, ...}``, either
the body itself or under one key (``{"artists": {...}}`` for followed artists). Offset paging
(``offset=``) and cursor paging (``after=``) differ only in what `next` carries, so both are read
the same way: each next page is asked for with the query of `next`, at the endpoint's own path.
The host and path of `next` are never followed, so a token never goes anywhere but the API URL.

Reading stops at a null `next`, an empty page, a `next` already asked for, or after
:data:`MAX_PAGES` pages (a server bug that would otherwise loop for ever). Pages are asked for
with the largest limit Spotify allows (50). A progress bar (``tqdm.auto``: a widget in notebooks)
shows when more than a few pages are to come.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from ..errors import MalformedResponse

__all__ = ["MAX_LIMIT", "MAX_PAGES", "PROGRESS_PAGES", "Page", "check_limit", "iter_pages",
           "read_page"]

#: The largest `limit` Spotify accepts on every paged endpoint since 2026.
MAX_LIMIT = 50
#: The most pages one read follows: Spotify's largest offset (100,000) over the largest limit.
MAX_PAGES = 100_000 // MAX_LIMIT + 1
#: A read of more pages than this shows a progress bar (unless progress=False).
PROGRESS_PAGES = 3

Query = dict[str, str]


class Page(NamedTuple):
    """One page: its raw items, the total Spotify reports and the query of the next page."""

    items: list[Any]
    total: int | None
    next_query: Query | None


def check_limit(limit: int, name: str = "limit", largest: int = MAX_LIMIT) -> int:
    """`limit` if it is an int from 1 to `largest`, else a ValueError saying so."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= largest:
        raise ValueError(f"{name} must be an int from 1 to {largest}, not {limit!r}")
    return limit


def _next_query(value: object) -> Query | None:
    if not isinstance(value, str) or not value:
        return None
    return dict(parse_qsl(urlsplit(value).query, keep_blank_values=True))


def read_page(body: object, what: str, wrapper: str | None = None) -> Page:
    """The items, total and next query of a paging object (under `wrapper` when given).

    Raises :class:`MalformedResponse` when there is no paging object or its items are no list.
    """
    paging = body.get(wrapper) if wrapper is not None and isinstance(body, Mapping) else body
    if not isinstance(paging, Mapping):
        raise MalformedResponse(f"Spotify sent no paging object for {what}.")
    items = paging.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise MalformedResponse(f"Spotify sent items that are not a JSON array for {what}.")
    total = paging.get("total")
    if isinstance(total, bool) or not isinstance(total, int):
        total = None
    return Page(items, total, _next_query(paging.get("next")))


def iter_pages(fetch: Callable[[Mapping[str, str]], object], what: str, *,
               params: Mapping[str, str] | None = None, wrapper: str | None = None,
               limit: int = MAX_LIMIT, progress: bool | None = None) -> Iterator[Page]:
    """Every page of a paged endpoint, the first asked for with `params` and `limit`.

    `fetch(query)` sends one request and returns the decoded body. `progress`: None shows a bar
    when more than :data:`PROGRESS_PAGES` pages are to come, True always, False never. Closing the
    iterator early (a cache that met what it holds) closes the bar too.
    """
    query: Query = {**(params or {}), "limit": str(check_limit(limit))}
    asked = {tuple(sorted(query.items()))}
    bar: Any = None
    done = 0
    try:
        while True:
            page = read_page(fetch(query), what, wrapper)
            done += len(page.items)
            if bar is not None:
                bar.update(len(page.items))
            yield page
            if not page.items or page.next_query is None:
                return
            key = tuple(sorted(page.next_query.items()))
            if key in asked or len(asked) >= MAX_PAGES:
                return
            asked.add(key)
            query = page.next_query
            # the bar starts with the second page: a reader that stops after one shows none
            if bar is None and progress is not False and page.total is not None and (
                    progress or math.ceil(page.total / limit) > PROGRESS_PAGES):
                from tqdm.auto import tqdm

                bar = tqdm(total=page.total, initial=done, desc=what, unit=" items", leave=False)
    finally:
        if bar is not None:
            bar.close()
