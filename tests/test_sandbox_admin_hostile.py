"""The sandbox's admin API (/_sandbox/...) against hostile requests: web pages in the user's browser
(DNS rebinding, cross-site requests, CORS reads) and bodies no test would send on purpose.

The admin API mints tokens and shows the client secret, so it must answer only the sandbox's own
clients; its bodies must never crash it (a 400 naming the problem, never a 500).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotkit.sandbox import Sandbox

ADMIN_GETS = ["/_sandbox/state", "/_sandbox/requests", "/_sandbox/counts", "/_sandbox/faults",
              "/_sandbox/history"]


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed_history=3) as sandbox:
        yield sandbox


def raw(sb: Sandbox, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[
        int, dict[str, str], bytes]:
    """One request written by hand (any Host, or none); status, headers (lower-case), body."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()),
             f"Content-Length: {len(body)}", "Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", sb.port), timeout=5) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1") + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in fields.items()}, payload


def own_host(sb: Sandbox) -> str:
    return f"127.0.0.1:{sb.port}"


# --- who may ask -------------------------------------------------------------------------------


def test_the_sandboxs_own_clients_are_answered(sb: Sandbox) -> None:
    status, _, body = raw(sb, "GET", "/_sandbox/state", {"Host": own_host(sb)})
    assert status == 200
    assert json.loads(body)["client_id"] == sb.client_id
    assert requests.get(sb.base_url + "/_sandbox/state", timeout=5).status_code == 200


@pytest.mark.parametrize("host", [
    "attacker.example", "attacker.example:{port}",  # DNS rebinding: the page's own name
    "localhost:{port}",                             # not the address the sandbox serves
    "127.0.0.1", "127.0.0.1:1",                     # another port
    "127.0.0.2:{port}", "[::1]:{port}", "0.0.0.0:{port}",
    "127.0.0.1:{port}.attacker.example", "127.0.0.1:{port}@attacker.example",
])
def test_a_foreign_host_is_refused_and_nothing_happens(sb: Sandbox, host: str) -> None:
    sb.reset_log()
    before = sb.state()
    minted = len(sb._live.accounts.access)
    host = host.format(port=sb.port)
    for method, path, body in [("GET", "/_sandbox/state", b""),
                               ("POST", "/_sandbox/tokens", b"{}"),
                               ("POST", "/_sandbox/user", b'{"display_name": "pwned"}'),
                               ("POST", "/_sandbox/faults", b'{"path": "/v1/me", "times": 0}')]:
        status, headers, payload = raw(sb, method, path, {"Host": host}, body)
        assert status == 403, (method, path)
        assert "access_token" not in payload.decode()
        assert sb.client_secret not in payload.decode()
        assert "Host" in json.loads(payload)["error"]
        assert "access-control-allow-origin" not in headers
    after = sb.state()
    assert after["user"]["display_name"] == before["user"]["display_name"]
    assert after["faults"] == before["faults"] == []
    assert len(sb._live.accounts.access) == minted  # no token was minted


def test_a_request_without_host_is_refused(sb: Sandbox) -> None:
    status, _, _ = raw(sb, "POST", "/_sandbox/tokens", {}, b"{}")
    assert status == 403


@pytest.mark.parametrize("origin", ["https://attacker.example", "null", "http://localhost:{port}",
                                    "http://127.0.0.1:1"])
def test_a_cross_site_request_from_a_web_page_is_refused(sb: Sandbox, origin: str) -> None:
    # a page can send a POST without reading the answer (no preflight for text/plain): refuse it
    headers = {"Host": own_host(sb), "Origin": origin.format(port=sb.port),
               "Content-Type": "text/plain"}
    status, _, payload = raw(sb, "POST", "/_sandbox/user", headers, b'{"display_name": "pwned"}')
    assert status == 403
    assert "web pages" in json.loads(payload)["error"]
    assert sb.user["display_name"] != "pwned"


def test_the_sandboxs_own_origin_is_answered(sb: Sandbox) -> None:
    status, _, _ = raw(sb, "GET", "/_sandbox/counts", {"Host": own_host(sb), "Origin": sb.base_url})
    assert status == 200


@pytest.mark.parametrize("path", ADMIN_GETS)
def test_admin_answers_carry_no_cors_header(sb: Sandbox, path: str) -> None:
    r = requests.get(sb.base_url + path, headers={"Origin": sb.base_url}, timeout=5)
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers
    preflight = requests.options(sb.base_url + path, timeout=5,
                                 headers={"Origin": "https://attacker.example",
                                          "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_the_web_api_keeps_its_cors_header(sb: Sandbox) -> None:
    # Spotify's Web API answers browsers' reads (a bearer token is still needed)
    r = requests.get(sb.api_url + "/me", timeout=5)
    assert r.status_code == 401
    assert r.headers["Access-Control-Allow-Origin"] == "*"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), min_size=1, max_size=40))
def test_any_other_host_is_refused(sb: Sandbox, host: str) -> None:
    status, headers, _ = raw(sb, "POST", "/_sandbox/tokens", {"Host": host}, b"{}")
    if host.lower() == own_host(sb):
        assert status == 200
    else:
        assert status in (400, 403)
    assert "access-control-allow-origin" not in headers


# --- what they send ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body"), [
    ("/_sandbox/tokens", b"\xff\xfe not utf-8"),
    ("/_sandbox/tokens", b"[1, 2]"),
    ("/_sandbox/tokens", b"{"),
    ("/_sandbox/user", b"[" * 100_000 + b"]" * 100_000),          # deeply nested
    ("/_sandbox/player", b'{"uri": null, "progress_ms": 1e400}'),  # beyond any float
    ("/_sandbox/player", b'{"uri": null, "progress_ms": ' + b"9" * 30 + b"}"),  # beyond 64 bits
    ("/_sandbox/clock", b'{"speed": 1e400}'),
    ("/_sandbox/clock", b'{"speed": 0}'),
    ("/_sandbox/clock", b'{"advance_ms": -5}'),
    ("/_sandbox/clock", b'{"advance_ms": "NaN"}'),
    ("/_sandbox/faults", b'{"path": "/v1/me", "status": 99999}'),
    ("/_sandbox/faults", b'{"path": "/v1/me", "status": 42}'),
    ("/_sandbox/faults", b'{"path": "/v1/me", "delay": 1e400}'),
    ("/_sandbox/faults", b'{"path": "/v1/me", "delay": -1}'),
    ("/_sandbox/faults", b'{"path": "/v1/me", "times": -3}'),
    ("/_sandbox/faults", b'{"path": "/v1/me", "kind": "nonsense"}'),
    ("/_sandbox/faults", b'{"path": 5}'),
])
def test_hostile_bodies_get_a_400_naming_the_problem(sb: Sandbox, path: str, body: bytes) -> None:
    before = sb.state()
    r = requests.post(sb.base_url + path, data=body, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"]
    after = sb.state()
    assert after["faults"] == before["faults"]
    assert after["speed"] == before["speed"]
    assert requests.get(sb.base_url + "/_sandbox/counts", timeout=5).status_code == 200
