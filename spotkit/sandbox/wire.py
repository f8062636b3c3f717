"""The sandbox's own request and response values: what the HTTP layer hands to the logic and back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

__all__ = [
    "Request",
    "Response",
    "api_error",
    "html_response",
    "json_response",
    "oauth_error",
    "redirect",
]

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request. Header names are lower case."""

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def arg(self, name: str) -> str | None:
        """The first value of query parameter `name`, or None."""
        values = self.query.get(name)
        return values[0] if values else None

    def form(self) -> dict[str, str]:
        """The body as an x-www-form-urlencoded form (first value of each field)."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not."""
        return json.loads(self.body.decode("utf-8")) if self.body.strip() else None


@dataclass
class Response:
    """One answer: status, headers (without Content-Length) and body bytes."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    hdrs = {"Content-Type": JSON_TYPE, "Cache-Control": "private, max-age=0"}
    hdrs.update(headers or {})
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, hdrs)


def api_error(status: int, message: str, reason: str | None = None,
              headers: Mapping[str, str] | None = None) -> Response:
    """A Web API error: {"error": {"status", "message"[, "reason"]}}."""
    error: dict[str, Any] = {"status": status, "message": message}
    if reason is not None:
        error["reason"] = reason
    return json_response(status, {"error": error}, headers)


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    """An accounts-service error: {"error": "invalid_grant", "error_description": "..."}."""
    return json_response(
        status,
        {"error": error, "error_description": description},
        {"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode("utf-8"),
                    {"Content-Type": HTML_TYPE, "Cache-Control": "no-store"})


def redirect(location: str) -> Response:
    return Response(302, b"", {"Location": location, "Cache-Control": "no-store"})
