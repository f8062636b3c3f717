"""Who is watching the now-playing widgets, with a fake clock: no threads, no browser."""

from __future__ import annotations

import pytest

from spotkit.widgets.attention import Attention


def test_nobody_at_first() -> None:
    a = Attention(lease=30.0)
    assert not a.watched(0.0)
    assert a.next_change(0.0) is None
    assert a.background() is None


def test_a_view_on_screen_holds_for_its_lease_and_renewals_extend_it() -> None:
    a = Attention(lease=30.0)
    a.join("w1")
    a.report("w1", "v1", True, now=0.0)
    assert a.watched(29.9)
    assert a.next_change(10.0) == 30.0
    a.report("w1", "v1", True, now=20.0)  # the front end renews every few seconds
    assert a.watched(49.9)
    assert not a.watched(50.0)  # silence (asleep, page closed): not watched any more
    assert a.next_change(50.0) is None


def test_any_view_of_any_owner_counts_and_hidden_ends_at_once() -> None:
    a = Attention()
    a.report("w1", "v1", True, now=0.0)
    a.report("w2", "v9", True, now=0.0)
    a.report("w1", "v1", False, now=1.0)  # scrolled away
    assert a.watched(1.0)
    a.report("w2", "v9", False, now=2.0)  # tab hidden
    assert not a.watched(2.0)


def test_leaving_forgets_the_owners_views_and_wishes() -> None:
    a = Attention()
    a.join("w1", background=300.0)
    a.join("w2", background=120.0)
    a.report("w1", "v1", True, now=0.0)
    assert a.background() == 120.0
    a.leave("w2")
    assert a.background() == 300.0
    a.leave("w1")
    assert not a.watched(0.0)
    assert a.background() is None


def test_always_counts_without_any_view() -> None:
    a = Attention()
    a.join("script", always=True)
    assert a.watched(1e9)
    a.join("script", always=False)
    assert not a.watched(0.0)


def test_lease_must_be_positive() -> None:
    with pytest.raises(ValueError, match="lease"):
        Attention(lease=0)
