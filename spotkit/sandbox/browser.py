"""A stand-in for the user's browser: open the authorize URL, press Agree or Cancel on the consent
page, then visit the redirect (the client's loopback listener), like a person would."""

from __future__ import annotations

import html.parser
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urljoin

__all__ = ["consent"]


class _Form(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}  # value -> (name, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a.get("name", "")] = a.get("value", "")
        elif tag == "button":
            self.buttons[a.get("value", "")] = (a.get("name", ""), a.get("value", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 302 surfaces as HTTPError: we want its Location, not to follow it


def _send(opener: urllib.request.OpenerDirector,
          req: urllib.request.Request) -> tuple[int, str, str | None]:
    """(status, body, Location) of one request, redirects not followed."""
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace"), None
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location")
        return exc.code, exc.read().decode("utf-8", "replace"), location


def consent(url: str, agree: bool = True, follow: bool = True) -> str:
    """Go through the sandbox's consent for authorize `url`; return the redirect address (with
    `code` or `error`). With `follow` the redirect is visited too, retried for up to 5 s while
    nothing listens there yet. Raises RuntimeError on an error page (bad client or redirect)."""
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    status, page, location = _send(opener, urllib.request.Request(url))
    if status == 200:
        form = _Form()
        form.feed(page)
        name, value = form.buttons["agree" if agree else "cancel"]
        data = urlencode({**form.fields, name: value}).encode()
        req = urllib.request.Request(urljoin(url, form.action), data=data, method="POST")
        status, page, location = _send(opener, req)
    if status != 302 or not location:
        raise RuntimeError(f"the sandbox answered {status} instead of a redirect")
    if follow:
        deadline = time.monotonic() + 5
        while True:
            try:
                _send(opener, urllib.request.Request(location))
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
    return location
