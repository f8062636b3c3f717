"""Routing of one request to the accounts service, the Web API, images or the admin API, with
faults applied first and every non-admin request logged."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from . import admin, webapi
from .state import SandboxState
from .wire import Request, Response, api_error, html_response, oauth_error

__all__ = ["dispatch"]

_IMAGE = re.compile(r"/images/([0-9a-f]{40})\.png")
_GRANT = re.compile(r"[A-Za-z_:.-]{1,64}")


def _route(state: SandboxState, req: Request) -> Response:
    path, method = req.path, req.method
    if path == "/authorize":
        if method != "GET":
            return html_response(405, "<h1>Method not allowed</h1>")
        return state.accounts.authorize(req, state.user["display_name"])
    if path == "/authorize/decision":
        if method != "POST":
            return html_response(405, "<h1>Method not allowed</h1>")
        return state.accounts.decision(req)
    if path == "/api/token":
        if method != "POST":
            return oauth_error("invalid_request", "Method not allowed", 405)
        return state.accounts.token(req)
    if path.startswith("/v1/"):
        return webapi.handle(state, req)
    m = _IMAGE.fullmatch(path)
    if m and method == "GET":
        data = state.catalogue.image_png(m.group(1))
        if data is not None:
            return Response(200, data, {"Content-Type": "image/png",
                                        "Cache-Control": "public, max-age=31536000"})
    if path == "/" and method == "GET":
        return html_response(200, "<!doctype html><title>Spotify sandbox</title>"
                                  "<h1>spotkit sandbox</h1><p>An offline Spotify: "
                                  "<code>/authorize</code>, <code>/api/token</code>, "
                                  "<code>/v1/...</code>, <code>/_sandbox/state</code>.</p>")
    return api_error(404, "Service not found")


def _limited(state: SandboxState, req: Request) -> Response | None:
    """A 429 when the rate limiter is on and this /v1 call would go over it."""
    if state.rate_limit is None or not req.path.startswith("/v1/"):
        return None
    retry_after = state.rate_limit.admit()
    if retry_after is None:
        return None
    return api_error(429, "API rate limit exceeded", headers={"Retry-After": str(retry_after)})


def dispatch(state: SandboxState, req: Request, wait: Callable[[float], object]) -> Response:
    """Answer `req`. `wait(seconds)` sleeps for a delay fault (and returns early on shutdown)."""
    if req.path.startswith("/_sandbox/"):
        with state.lock:
            return admin.refusal(state, req) or admin.handle(state, req)
    started = time.perf_counter()
    with state.lock:
        fault = state.faults.take(req.method, req.path)
        latency = state.latency_for(req.path) if state.latency else 0.0
    if fault is not None and fault.delay > 0:
        wait(fault.delay)  # outside the lock: other requests carry on meanwhile
    if latency > 0:
        wait(latency)  # Spotify's round trip, injected per endpoint
    with state.lock:
        if fault is not None and fault.applied:
            _route(state, req)  # the request does its work; only its answer is lost
        response = fault.response() if fault is not None else None
        if response is None:
            response = _limited(state, req) or _route(state, req)
        grant_type = None
        if req.path == "/api/token" and req.method == "POST":
            value = req.form().get("grant_type")
            if value is not None:
                grant_type = value if _GRANT.fullmatch(value) else "invalid"
        state.log.record(req.method, req.path, req.query, response.status, time.time(),
                         (time.perf_counter() - started) * 1000.0, grant_type,
                         fault=fault is not None and fault.status is not None)
    return response
