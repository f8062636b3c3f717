"""The shared value helpers: typed getters and exact Unix milliseconds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from spotkit._values import as_bool, as_int, as_obj, as_str, from_ms, get, now_ms, to_ms


@pytest.mark.parametrize(("value", "strict", "loose"), [
    (3, 3, 3), (3.0, 3, 3), (3.5, None, None), (float("nan"), None, None),
    (float("inf"), None, None), (True, None, None), ("12", None, 12), (" 7 ", None, 7),
    ("-1", None, None), ("x", None, None), (None, None, None), (2**70, 2**70, 2**70),
])
def test_as_int(value: object, strict: int | None, loose: int | None) -> None:
    assert as_int(value) == strict
    assert as_int(value, digits=True) == loose


@pytest.mark.parametrize(("value", "strict", "loose"), [
    (True, True, True), (False, False, False), (1, None, True), (0, None, False), (2, None, None),
    ("true", None, True), ("FALSE", None, False), ("yes", None, None), (None, None, None),
])
def test_as_bool(value: object, strict: bool | None, loose: bool | None) -> None:
    assert as_bool(value) is strict
    assert as_bool(value, loose=True) is loose


def test_as_str_obj_and_get() -> None:
    assert as_str("") == ""
    assert as_str("", empty=False) is None
    assert as_str(5) is None
    assert as_obj({"a": 1}) == {"a": 1}
    assert as_obj([1]) is None
    assert get(None, "a") is None
    assert get({"a": 1}, "a") == 1


def test_unix_ms_round_trips_exactly() -> None:
    moment = datetime(2026, 12, 1, 15, 30, 0, 123000, tzinfo=timezone.utc)
    assert to_ms(moment) == 1796139000123
    assert from_ms(to_ms(moment)) == moment
    assert to_ms(moment.replace(tzinfo=None)) == to_ms(moment)  # naive means UTC
    plus_one = moment.astimezone(timezone(timedelta(hours=1)))
    assert to_ms(plus_one) == to_ms(moment)
    assert abs(now_ms() - to_ms(datetime.now(timezone.utc))) < 5_000
