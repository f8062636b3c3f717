"""Endpoint declarations and paging, written once: keys derived, scopes declared, pages followed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from spotkit.client import ENDPOINT_SCOPES, Spotify
from spotkit.endpoints import ENDPOINTS, Endpoint
from spotkit.endpoints.paging import MAX_LIMIT, check_limit, iter_pages, read_page
from spotkit.errors import MalformedResponse

BASE = "https://api.spotify.com/v1/me/tracks"


class FakeApi:
    """A paged collection of `n` items served like Spotify, recording the queries asked."""

    def __init__(self, n: int, *, wrapper: str | None = None, cursor: bool = False) -> None:
        self.n = n
        self.wrapper = wrapper
        self.cursor = cursor
        self.queries: list[dict[str, str]] = []

    def __call__(self, query: Mapping[str, str]) -> Any:
        self.queries.append(dict(query))
        limit = int(query["limit"])
        start = int(query.get("after" if self.cursor else "offset", "0"))
        items = [{"id": str(i)} for i in range(start, min(start + limit, self.n))]
        end = start + len(items)
        key = "after" if self.cursor else "offset"
        nxt = f"{BASE}?{key}={end}&limit={limit}" if end < self.n else None
        page = {"items": items, "next": nxt, "total": self.n, "limit": limit}
        return {self.wrapper: page} if self.wrapper else page


def ids(pages: Any) -> list[str]:
    return [item["id"] for page in pages for item in page.items]


@pytest.mark.parametrize("n", [0, 1, 49, 50, 51, 120])
def test_offset_paging_follows_next_with_the_largest_limit(n: int) -> None:
    api = FakeApi(n)
    assert ids(iter_pages(api, "saved tracks", progress=False)) == [str(i) for i in range(n)]
    assert len(api.queries) == max(1, -(-n // MAX_LIMIT))
    assert all(q["limit"] == "50" for q in api.queries)


def test_cursor_paging_under_a_wrapper_key() -> None:
    api = FakeApi(120, wrapper="artists", cursor=True)
    got = ids(iter_pages(api, "followed artists", params={"type": "artist"}, wrapper="artists",
                         progress=False))
    assert got == [str(i) for i in range(120)]
    assert [q.get("after") for q in api.queries] == [None, "50", "100"]
    assert api.queries[0] == {"type": "artist", "limit": "50"}


def test_a_next_already_asked_for_stops_instead_of_looping() -> None:
    def fetch(query: Mapping[str, str]) -> Any:
        return {"items": [{"id": "x"}], "next": f"{BASE}?offset=0&limit=50", "total": 999}

    assert ids(iter_pages(fetch, "x", params={"offset": "0"}, progress=False)) == ["x"]


def test_an_endless_chain_of_new_pages_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    import spotkit.endpoints.paging as paging

    monkeypatch.setattr(paging, "MAX_PAGES", 7)
    asked: list[Mapping[str, str]] = []

    def fetch(query: Mapping[str, str]) -> Any:
        asked.append(query)
        n = len(asked)
        return {"items": [{"id": str(n)}], "next": f"{BASE}?offset={n}&limit=50", "total": None}

    assert len(ids(iter_pages(fetch, "x", progress=False))) == 7


def test_next_on_another_host_only_lends_its_query() -> None:
    asked: list[dict[str, str]] = []

    def fetch(query: Mapping[str, str]) -> Any:
        asked.append(dict(query))
        if "offset" in query:
            return {"items": [{"id": "2"}], "next": None}
        return {"items": [{"id": "1"}], "next": "https://evil.example/steal?offset=1&limit=50"}

    assert ids(iter_pages(fetch, "x", progress=False)) == ["1", "2"]
    assert asked[1] == {"offset": "1", "limit": "50"}


def test_progress_bar_only_past_a_few_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    import tqdm.auto

    bars: list[dict[str, Any]] = []

    class Bar:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs
            self.done = kwargs.get("initial", 0)
            bars.append(self.__dict__)

        def update(self, n: int) -> None:
            self.done += n

        def close(self) -> None:
            self.__dict__["closed"] = True

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    list(iter_pages(FakeApi(150), "three pages"))
    assert bars == []
    list(iter_pages(FakeApi(151), "four pages"))
    assert len(bars) == 1
    assert bars[0]["done"] == 151
    assert bars[0]["closed"]
    list(iter_pages(FakeApi(400), "off", progress=False))
    assert len(bars) == 1
    pages = iter_pages(FakeApi(1000), "stopped after one page")
    next(pages)
    pages.close()
    assert len(bars) == 1  # a refresh that stops at the first page shows no bar
    pages = iter_pages(FakeApi(1000), "stopped early")
    next(pages)
    next(pages)
    pages.close()
    assert bars[-1]["done"] == 100
    assert bars[-1]["closed"]


@pytest.mark.parametrize("body", [None, [], {"items": "nope"}, {"wrapped": 1}])
def test_no_paging_object_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponse, match="saved tracks"):
        read_page(body, "saved tracks", "wrapped" if isinstance(body, dict) and "wrapped" in body
                  else None)


@pytest.mark.parametrize("bad", [0, 51, -1, True, 2.0, "50"])
def test_limit_is_checked(bad: Any) -> None:
    with pytest.raises(ValueError, match="limit must be an int from 1 to 50"):
        check_limit(bad)


def test_endpoint_keys_are_derived_and_scopes_declared() -> None:
    assert ENDPOINT_SCOPES["GET /me"] == ()
    assert ENDPOINT_SCOPES["GET /me/player"] == ("user-read-playback-state",)
    assert ENDPOINT_SCOPES["POST /me/player/next"] == ("user-modify-playback-state",)
    for key, endpoint in ENDPOINTS.items():
        assert key == f"{endpoint.method} {endpoint.path}"
        assert ENDPOINT_SCOPES[key] == endpoint.scopes


def test_path_arguments_are_percent_encoded() -> None:
    endpoint = Endpoint.__new__(Endpoint)  # not registered: a test must not add endpoints
    endpoint.method, endpoint.path, endpoint.scopes = "GET", "/playlists/{playlist_id}/items", ()
    assert endpoint.format(playlist_id="a/b?c") == "/playlists/a%2Fb%3Fc/items"


def test_spotify_composes_the_groups() -> None:
    for name in ("me", "playback", "now_playing", "recently_played", "play", "pause", "next",
                 "previous"):
        assert callable(getattr(Spotify, name))
