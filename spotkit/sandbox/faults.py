"""Faults on demand: answers queued for a path that replace (or delay) the normal ones."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .wire import HTML_TYPE, JSON_TYPE, Response

__all__ = ["KINDS", "Fault", "FaultQueue"]

KINDS = ("json", "html", "malformed", "empty")

_MESSAGES = {
    400: "Bad request",
    401: "The access token expired",
    403: "Forbidden",
    404: "Service not found",
    429: "API rate limit exceeded",
    500: "Server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}

_OAUTH = {
    400: ("invalid_grant", "Invalid refresh token"),
    401: ("invalid_client", "Invalid client"),
    429: ("too_many_requests", "Too many requests"),
}


@dataclass
class Fault:
    """One queued fault. `status=None` answers normally (after `delay`); `times=0` never runs out.
    `applied`: the request is carried out as usual and only then answered with the fault (a write
    that happened though the client saw a 502)."""

    path: str
    status: int | None = 500
    method: str | None = None
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    kind: str = "json"
    delay: float = 0.0
    reason: str | None = None
    applied: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if self.times < 0:
            raise ValueError("times must be >= 0 (0: until cleared)")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.method is not None:
            self.method = self.method.upper()

    def matches(self, method: str, path: str) -> bool:
        return self.path == path and (self.method is None or self.method == method)

    def response(self) -> Response | None:
        """The answer this fault gives, or None to let the normal handler answer."""
        if self.status is None:
            return None
        status = self.status
        headers = dict(self.headers)
        if status == 429 and not any(k.lower() == "retry-after" for k in headers):
            headers["Retry-After"] = "1"
        if self.kind == "empty":
            headers.setdefault("Content-Type", JSON_TYPE)
            return Response(status, b"", headers)
        if self.kind == "html":
            headers.setdefault("Content-Type", HTML_TYPE)
            text = self.body if isinstance(self.body, str) else (
                f"<html><head><title>{status} Error</title></head><body><h1>{status}</h1>"
                "<p>upstream connect error or disconnect/reset before headers</p></body></html>")
            return Response(status, text.encode("utf-8"), headers)
        headers.setdefault("Content-Type", JSON_TYPE)
        if self.kind == "malformed":
            text = self.body if isinstance(self.body, str) else '{"error": {"status": 5'
            return Response(status, text.encode("utf-8"), headers)
        if self.body is not None:
            raw = self.body if isinstance(self.body, str) else json.dumps(self.body)
            return Response(status, raw.encode("utf-8"), headers)
        return Response(status, json.dumps(self._default_body(status)).encode("utf-8"), headers)

    def _default_body(self, status: int) -> dict[str, Any]:
        if self.path.startswith("/api/"):
            error, description = _OAUTH.get(status, ("server_error", "Server error"))
            return {"error": error, "error_description": description}
        err: dict[str, Any] = {"status": status, "message": _MESSAGES.get(status, "Error")}
        if self.reason:
            err["reason"] = self.reason
        return {"error": err}

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "method": self.method,
                "times": self.times, "kind": self.kind, "delay": self.delay,
                "reason": self.reason, "applied": self.applied}


class FaultQueue:
    """Faults in the order queued; the first that matches a request is used (and counted down)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        for i, fault in enumerate(self._faults):
            if fault.matches(method, path):
                if fault.times == 1:
                    del self._faults[i]
                elif fault.times > 1:
                    fault.times -= 1
                return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        return [f.describe() for f in self._faults]


def fault_from_json(data: Mapping[str, Any]) -> Fault:
    """A Fault from the admin API's JSON (same names as Sandbox.queue_fault)."""
    if not isinstance(data.get("path"), str):
        raise ValueError("path is required")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict):
        raise ValueError("headers must be an object")
    headers = {str(k): str(v) for k, v in headers.items()}
    retry_after = data.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    status = data.get("status", 500)
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                               or not 100 <= status <= 599):
        raise ValueError("status must be an HTTP status (100-599) or null")
    times = data.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 0 <= times <= 1_000_000:
        raise ValueError("times must be a whole number from 0 (forever) to 1000000")
    delay = data.get("delay", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
        raise ValueError("delay must be a number of seconds from 0 to 600")
    kind = str(data.get("kind", "json"))
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    method = data.get("method")
    return Fault(
        path=data["path"],
        status=status,
        method=None if method is None else str(method),
        times=times,
        headers=headers,
        body=data.get("body"),
        kind=kind,
        delay=float(delay),
        reason=None if data.get("reason") is None else str(data["reason"]),
        applied=bool(data.get("applied", False)),
    )
