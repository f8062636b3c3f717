"""The library cache against the sandbox: the call-count goals, counted in its request log, and
the store: keyed by user, across processes, refused when foreign, moved by SPOTKIT_DATA_DIR."""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import seed_login

from spotkit.client import Spotify
from spotkit.errors import LibraryCacheError, PlaylistNotReadable
from spotkit.library import LibraryCache, LibraryStore, default_cache_path
from spotkit.sandbox import Sandbox

N = 1500


@pytest.fixture
def sp(spotkit_env: Sandbox, tmp_path: Path) -> Iterator[Spotify]:
    seed_login(spotkit_env)
    with Spotify() as client:
        client.library_cache = LibraryCache(tmp_path / "library.sqlite3")
        spotkit_env.reset_log()
        yield client


def calls(sb: Sandbox, prefix: str = "/v1/") -> int:
    return sum(1 for r in sb.requests() if r["path"].startswith(prefix))


def uris(records: list[dict[str, object]]) -> list[object]:
    return [r["item_uri"] for r in records]


def test_saved_tracks_cost_ceil_n_over_50_then_one(sp: Spotify, spotkit_env: Sandbox) -> None:
    sb = spotkit_env
    first = sp.saved_tracks(progress=False)
    assert len(first) == N
    assert calls(sb) == math.ceil(N / 50)
    assert uris(first) == sb.library()["saved_track_uris"]
    sb.reset_log()
    again = sp.saved_tracks()
    assert calls(sb) == 1
    assert again == first
    assert again.read_at is not None
    assert first.read_at is not None
    assert again.read_at >= first.read_at


@pytest.mark.parametrize("k", [1, 49, 50, 120])
def test_k_new_tracks_cost_ceil_k_plus_1_over_50(sp: Spotify, spotkit_env: Sandbox, k: int) -> None:
    sb = spotkit_env
    sp.saved_tracks(progress=False)
    sb.save_items(sb.library()["unsaved_track_uris"][:k])
    sb.reset_log()
    records = sp.saved_tracks(progress=False)
    assert calls(sb) == math.ceil((k + 1) / 50)
    assert len(records) == N + k
    assert uris(records) == sb.library()["saved_track_uris"]


def test_a_removal_falls_back_to_a_full_read(sp: Spotify, spotkit_env: Sandbox) -> None:
    sb = spotkit_env
    sp.saved_tracks(progress=False)
    held = sb.library()["saved_track_uris"]
    sb.remove_items([held[700]])
    sb.save_items(sb.library()["unsaved_track_uris"][:2])  # the total alone would look unchanged
    sb.reset_log()
    records = sp.saved_tracks(progress=False)
    assert uris(records) == sb.library()["saved_track_uris"]
    assert held[700] not in uris(records)
    assert calls(sb) == math.ceil((N + 1) / 50)  # the pages already read are not asked again


def test_refresh_false_reads_the_cache_and_full_reads_everything(
        sp: Spotify, spotkit_env: Sandbox) -> None:
    sb = spotkit_env
    sp.saved_albums()
    sb.reset_log()
    cached = sp.saved_albums(refresh=False)
    assert calls(sb) == 0
    assert len(cached) == sb.library()["saved"]["albums"]
    sp.saved_albums(refresh="full")
    assert calls(sb) == math.ceil(len(cached) / 50)


@pytest.mark.parametrize("spotify_sandbox", [{"playlists": 100, "saved_tracks": 300}],
                         indirect=True)
def test_unchanged_playlists_cost_the_list_alone(sp: Spotify, spotkit_env: Sandbox) -> None:
    sb = spotkit_env
    playlists = sp.playlists()
    assert len(playlists) == 100
    readable = [p for p in playlists if p["owner_id"] == sb.user["id"] or p["collaborative"]]
    for p in readable:
        sp.playlist_items(p, progress=False)
    for p in playlists:
        if p not in readable:
            with pytest.raises(PlaylistNotReadable):
                sp.playlist_items(p)
    sb.reset_log()
    total = refused = 0
    for p in sp.playlists():
        try:
            total += len(sp.playlist_items(p))
        except PlaylistNotReadable:  # remembered at its snapshot: refused again without a call
            refused += 1
    assert refused == len(playlists) - len(readable)
    assert calls(sb) == calls(sb, "/v1/me/playlists") == 2  # 100 playlists, 50 a page
    assert total == sum(p["items_total"] for p in readable)
    # an edited playlist alone is read again; by id, the recent list vouches for the others
    changed = readable[3]
    sb.edit_playlist(changed["playlist_id"], add=sb.library()["unsaved_track_uris"][:1])
    sb.reset_log()
    sp.playlists()
    for p in readable:
        sp.playlist_items(p["playlist_id"])
    items = f"/v1/playlists/{changed['playlist_id']}/items"
    assert calls(sb) == 2 + math.ceil((changed["items_total"] + 1) / 50) == 2 + calls(sb, items)


def test_a_playlist_by_id_without_a_recent_list_asks_its_snapshot(
        sp: Spotify, spotkit_env: Sandbox, tmp_path: Path) -> None:
    sb = spotkit_env
    pid = next(p["id"] for p in sb.library()["playlists"] if p["readable"] and p["items"] > 60)
    first = sp.playlist_items(pid)
    with Spotify() as other:  # another process: no list read in it
        other.library_cache = LibraryCache(tmp_path / "library.sqlite3")
        sb.reset_log()
        assert other.playlist_items(pid) == first
        assert [r["path"] for r in sb.requests()] == [f"/v1/playlists/{pid}"]
        assert sb.requests()[0]["query"] == {"fields": "snapshot_id"}


def test_top_items_are_kept_with_the_time_they_were_read(sp: Spotify,
                                                         spotkit_env: Sandbox) -> None:
    top = sp.top_tracks("all")
    assert {r["time_range"] for r in top} == {"short_term", "medium_term", "long_term"}
    assert calls(spotkit_env) == 3
    spotkit_env.reset_log()
    cached = sp.top_tracks("all", refresh=False)
    assert cached == top
    assert cached.read_at == top.read_at
    assert calls(spotkit_env) == 0


def test_users_do_not_share_a_collection(tmp_path: Path) -> None:
    store = LibraryStore(tmp_path / "lib.sqlite3")
    store.save("alice", "saved_tracks", [{"item_uri": "a"}], ["a|"], total=1)
    store.save("bob", "saved_tracks", [{"item_uri": "b"}, {"item_uri": "c"}], total=2)
    alice, bob = store.load("alice", "saved_tracks"), store.load("bob", "saved_tracks")
    assert alice is not None
    assert bob is not None
    assert alice.records == [{"item_uri": "a"}]
    assert len(bob.records) == 2
    assert store.load("carol", "saved_tracks") is None
    store.close()


def _writer(path: str, user: str, rounds: int) -> None:
    store = LibraryStore(path)
    for i in range(rounds):
        store.save(user, "saved_tracks", [{"item_uri": f"{user}{i}-{j}"} for j in range(200)],
                   total=200)
    store.close()


def test_processes_write_the_same_file_safely(tmp_path: Path) -> None:
    path = str(tmp_path / "lib.sqlite3")
    LibraryStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(path, user, 20)) for user in ("u1", "u2", "u1")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    store = LibraryStore(path)
    for user in ("u1", "u2"):
        held = store.load(user, "saved_tracks")
        assert held is not None
        assert len(held.records) == 200
        # one whole collection from one write, never a mix of two
        assert len({r["item_uri"].split("-")[0] for r in held.records}) == 1
    assert store.integrity_check() == ["ok"]
    store.close()


def test_a_foreign_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "library.sqlite3"
    path.write_text("not a database\n")
    with pytest.raises(LibraryCacheError, match="library cache"):
        LibraryCache(path)
    assert path.read_text() == "not a database\n"


def test_spotkit_data_dir_moves_the_library_and_the_history(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spotkit.history.logger import default_history_path

    monkeypatch.setenv("SPOTKIT_DATA_DIR", str(tmp_path / "data"))
    assert default_cache_path() == tmp_path / "data" / "library.sqlite3"
    assert default_history_path().parent == default_cache_path().parent
