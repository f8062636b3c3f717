"""spotkit.auth.token: the Token value."""

from __future__ import annotations

import json
import time

import pytest

from spotkit.auth.token import Token

ACCESS = "AQD-access-secret-value"
REFRESH = "AQB-refresh-secret-value"


def make(expires_in: float = 3600, **kw: object) -> Token:
    data = {"access_token": ACCESS, "token_type": "Bearer", "scope": "a b",
            "expires_in": expires_in, "refresh_token": REFRESH, **kw}
    return Token.from_response(data, now=1000.0)


def test_from_response_fields() -> None:
    token = make()
    assert token.access_token == ACCESS
    assert token.refresh_token == REFRESH
    assert token.scope == ("a", "b")
    assert token.expires_at == 4600.0
    assert token.token_type == "Bearer"


def test_refresh_answer_without_refresh_token_keeps_the_old_one() -> None:
    old = make()
    new = Token.from_response({"access_token": "new", "expires_in": 3600}, now=2000.0,
                              previous=old)
    assert new.refresh_token == REFRESH
    assert new.scope == ("a", "b")  # no scope in the answer: keep the granted ones
    assert new.expires_at == 5600.0


def test_refresh_answer_with_a_rotated_refresh_token_stores_it() -> None:
    new = Token.from_response({"access_token": "new", "refresh_token": "rotated",
                               "scope": "a", "expires_in": 10}, previous=make())
    assert new.refresh_token == "rotated"
    assert new.scope == ("a",)


@pytest.mark.parametrize("data", [
    {},
    {"access_token": ""},
    {"access_token": 5},
    {"access_token": "x", "refresh_token": 3},
    {"access_token": "x", "expires_in": "soon"},
    {"access_token": "x", "expires_in": True},
    {"access_token": "x", "expires_in": float("inf")},  # JSON's Infinity, or 1e400
    {"access_token": "x", "expires_in": float("nan")},
    {"access_token": "x", "scope": 7},
])
def test_from_response_rejects_malformed_answers(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="token answer") as info:
        Token.from_response(data)
    assert "x" not in str(info.value).split()


def test_repr_and_str_never_show_secrets() -> None:
    token = make()
    for text in (repr(token), str(token), f"{token}", repr([token]), repr({"t": token})):
        assert ACCESS not in text
        assert REFRESH not in text
    assert "a b" in repr(token)


def test_expired_with_margin() -> None:
    token = make(expires_in=100)  # expires at 1100
    assert not token.expired(margin=60, now=1000)
    assert token.expired(margin=60, now=1041)
    assert token.expired(margin=0, now=1100)
    assert not Token("a", "r", expires_at=time.time() + 3600).expired()


def test_scopes() -> None:
    token = make()
    assert token.has_scopes("a")
    assert token.has_scopes("a", "b")
    assert not token.has_scopes("a", "c")
    assert token.missing_scopes(["c", "a", "d"]) == ("c", "d")


def test_json_round_trip() -> None:
    token = make()
    data = json.loads(json.dumps(token.to_json()))
    assert Token.from_json(data) == token
    assert Token.from_json({**data, "refresh_token": None}).refresh_token is None


@pytest.mark.parametrize("data", [
    [],
    {"refresh_token": "r", "expires_at": 1},
    {"access_token": "x", "expires_at": "1"},
    {"access_token": "x", "expires_at": float("nan")},
    {"access_token": "x", "expires_at": 1, "refresh_token": 1},
    {"access_token": "x", "expires_at": 1, "token_type": 1},
])
def test_from_json_rejects_bad_entries(data: object) -> None:
    with pytest.raises(ValueError, match="token entry"):
        Token.from_json(data)


def test_frozen() -> None:
    token = make()
    with pytest.raises(AttributeError):
        token.access_token = "other"  # type: ignore[misc]


def test_authorized_at_is_set_at_login_and_kept_by_refreshes() -> None:
    from datetime import datetime, timezone

    signed_in = datetime(2026, 8, 31, 12, 0, tzinfo=timezone.utc).timestamp()
    login = Token.from_response({"access_token": "a", "refresh_token": "r"}, now=signed_in)
    assert login.authorized_at == signed_in
    refreshed = Token.from_response({"access_token": "b"}, now=signed_in + 86400, previous=login)
    assert refreshed.authorized_at == signed_in
    assert Token.from_json(refreshed.to_json()) == refreshed
    # six calendar months, clamped to the month's last day
    assert refreshed.valid_until == datetime(2027, 2, 28, 12, 0, tzinfo=timezone.utc)
    end = refreshed.valid_until.timestamp()
    assert not refreshed.login_ends_soon(now=end - 15 * 86400)
    assert refreshed.login_ends_soon(now=end - 13 * 86400)
    assert refreshed.login_ends_soon(now=end + 1)


@pytest.mark.parametrize("value", [None, "2026-01-01", True, float("nan"), 1e300])
def test_an_unknown_or_bad_authorized_at_means_unknown(value: object) -> None:
    data = {"access_token": "a", "refresh_token": "r", "expires_at": 1.0, "authorized_at": value}
    token = Token.from_json(data)
    assert token.valid_until is None
    assert not token.login_ends_soon()
