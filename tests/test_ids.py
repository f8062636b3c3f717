"""spotkit.ids: the one parser of Spotify ids, URIs and open.spotify.com links."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotkit.ids import KINDS, is_id, item_id, parse, to_uri

ITEM_KINDS = [k for k in KINDS if k != "user"]
ID = "4uLU6hMCjMI75M1A2tKUQC"

ids = st.text(string.ascii_letters + string.digits, min_size=22, max_size=22)
kinds = st.sampled_from(ITEM_KINDS)


def forms(kind: str, id_: str) -> list[str]:
    """Every way a user may give the `kind` item `id_`."""
    return [f"spotify:{kind}:{id_}", f"https://open.spotify.com/{kind}/{id_}",
            f"http://open.spotify.com/{kind}/{id_}/", f"open.spotify.com/{kind}/{id_}?si=a1b2",
            f"https://open.spotify.com/intl-pt-BR/{kind}/{id_}#top",
            f"https://open.spotify.com/embed/{kind}/{id_}", f"  spotify:{kind}:{id_}\n"]


@given(kinds, ids, st.sampled_from(range(7)))
def test_every_form_of_every_kind_reads_back(kind: str, id_: str, form: int) -> None:
    value = forms(kind, id_)[form]
    assert parse(value) == (kind, id_)
    assert item_id(value, kind) == id_
    assert to_uri(value, "track") == f"spotify:{kind}:{id_}"  # the kind given wins over "track"
    assert to_uri(to_uri(value, kind), kind) == to_uri(value, kind)


@given(kinds, ids)
def test_a_bare_id_is_of_the_kind_asked_for(kind: str, id_: str) -> None:
    assert is_id(id_)
    assert parse(f" {id_} ", kind) == (kind, id_)
    assert to_uri(id_, kind) == f"spotify:{kind}:{id_}"
    with pytest.raises(ValueError, match="item id"):
        parse(id_)  # no kind to take it as


@given(kinds, kinds, ids)
def test_another_kind_is_named_in_the_error(given_kind: str, wanted: str, id_: str) -> None:
    if given_kind == wanted:
        return
    with pytest.raises(ValueError, match=f"is an? {given_kind}, not a {wanted}$"):
        item_id(f"spotify:{given_kind}:{id_}", wanted)


@given(st.text(max_size=60))
def test_anything_else_is_refused_with_its_value_named(text: str) -> None:
    try:
        kind, id_ = parse(text, "track")
    except ValueError as exc:
        message = str(exc)
    else:  # only what is really an id, URI or link gets through, and it round-trips
        assert parse(to_uri(text, "track")) == (kind, id_)
        return
    assert message.startswith(f"{text!r:.120} is not a Spotify track id")


@pytest.mark.parametrize("value", [
    "", " ", "abc", ID[:21], ID + "x", f"{ID[:21]}-", f"spotify:track:{ID[:21]}",
    f"spotify:track:{ID}:extra", f"spotify:tracks:{ID}", "spotify:local:a:b:c:1",
    f"spotify:user:alice:track:{ID}", f"https://example.com/track/{ID}",
    f"https://open.spotify.com.evil.example/track/{ID}", f"https://open.spotify.com/track/{ID}/x",
    f"https://open.spotify.com/track/{ID[:21]}", f"ftp://open.spotify.com/track/{ID}",
    "spotify:track:", None, 42, b"spotify:track:" + ID.encode()])
def test_bad_input(value: object) -> None:
    with pytest.raises(ValueError, match=r"is not a Spotify track id, spotify:track:\.\.\. URI or "
                                         r"open\.spotify\.com/track/\.\.\. link"):
        parse(value, "track")  # type: ignore[arg-type]


def test_users_and_old_playlist_uris() -> None:
    assert parse("spotify:user:frank.e_1") == ("user", "frank.e_1")
    assert parse("https://open.spotify.com/user/sandbox-friend?si=x") == ("user", "sandbox-friend")
    assert parse(f"spotify:user:alice:playlist:{ID}") == ("playlist", ID)
    assert parse(f"https://open.spotify.com/user/alice/playlist/{ID}") == ("playlist", ID)
    assert parse("alice", "user") == ("user", "alice")
    assert not is_id("alice")


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of track, episode"):
        to_uri(ID, "song")
