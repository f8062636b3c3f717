"""spotkit.auth.cache: the private, atomic, locked token file."""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from spotkit.auth.cache import TokenCache
from spotkit.auth.token import Token
from spotkit.errors import CacheCorrupt, LoginRequired

POSIX = sys.platform != "win32"


def tok(n: int = 1, scope: tuple[str, ...] = ("a",)) -> Token:
    return Token(access_token=f"access-{n}", refresh_token=f"refresh-{n}", scope=scope,
                 expires_at=time.time() + 3600)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_and_load(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens.json")
    assert cache.load("cid") is None
    cache.save("cid", "alice", tok(1), display_name="Alice")
    loaded = cache.load("cid")
    assert loaded is not None
    assert loaded.access_token == "access-1"
    entry = cache.load_entry("cid")
    assert entry is not None
    assert (entry.user_id, entry.display_name) == ("alice", "Alice")
    assert cache.current_user("cid") == "alice"


def test_two_clients_and_two_users_never_overwrite_each_other(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens.json")
    cache.save("app1", "alice", tok(1))
    cache.save("app2", "alice", tok(2))
    cache.save("app1", "bob", tok(3))
    assert cache.load("app1").access_token == "access-3"  # type: ignore[union-attr]
    assert cache.load("app1", "alice").access_token == "access-1"  # type: ignore[union-attr]
    assert cache.load("app2").access_token == "access-2"  # type: ignore[union-attr]
    assert cache.users("app1") == ["alice", "bob"]
    # a refresh for alice does not change who is current
    cache.save("app1", "alice", tok(4), make_current=False)
    assert cache.current_user("app1") == "bob"
    assert cache.load("app1", "alice").access_token == "access-4"  # type: ignore[union-attr]


def test_display_name_is_kept_across_saves(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens.json")
    cache.save("cid", "alice", tok(1), display_name="Alice")
    cache.save("cid", "alice", tok(2))
    assert cache.load_entry("cid").display_name == "Alice"  # type: ignore[union-attr]


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_file_is_0600_and_new_dir_0700_even_with_a_permissive_umask(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "spotkit" / "tokens.json"
    old = os.umask(0)
    try:
        TokenCache(path).save("cid", "alice", tok())
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert mode(path.with_name("tokens.json.lock")) == 0o600


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_temp_file_is_private_from_its_first_byte(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[tuple[str, int, int]] = []
    replaced: list[int] = []
    real_open, real_replace = os.open, os.replace

    def spy_open(path: object, flags: int, mode: int = 0o777, **kw: object) -> int:
        fd = real_open(path, flags, mode, **kw)  # type: ignore[arg-type]
        if str(path).endswith(".tmp"):
            opened.append((str(path), flags, stat.S_IMODE(os.fstat(fd).st_mode)))
            assert os.fstat(fd).st_size == 0
        return fd

    def spy_replace(src: object, dst: object) -> None:
        replaced.append(mode(Path(str(src))))
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr("spotkit.auth.cache.os.open", spy_open)
    monkeypatch.setattr("spotkit.auth.cache.os.replace", spy_replace)
    TokenCache(tmp_path / "tokens.json").save("cid", "alice", tok())
    (path, flags, born_mode), = opened
    assert flags & os.O_CREAT
    assert flags & os.O_EXCL
    assert born_mode & 0o077 == 0  # nobody else could read it, even while empty
    assert Path(path).parent == tmp_path  # same folder: os.replace is atomic
    assert replaced == [0o600]


def test_no_temp_files_are_left(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens.json")
    for n in range(5):
        cache.save("cid", "alice", tok(n))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_failed_write_removes_its_temp_file(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TokenCache(tmp_path / "tokens.json")
    cache.save("cid", "alice", tok(1))

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("spotkit.auth.cache.os.replace", boom)
    with pytest.raises(OSError, match="No space"):
        cache.save("cid", "alice", tok(2))
    assert not list(tmp_path.glob("*.tmp"))
    assert not list(tmp_path.glob(".*.tmp"))
    assert cache.load("cid").access_token == "access-1"  # type: ignore[union-attr]


def test_leftover_temp_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens.json")
    leftover = tmp_path / ".tokens.json.999999.deadbeef.tmp"
    leftover.write_text('{"half')
    unrelated = tmp_path / ".other.json.1.ab.tmp"
    unrelated.write_text("keep")
    cache.save("cid", "alice", tok())
    assert not leftover.exists()
    assert unrelated.exists()


# --- corrupt files -------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    b"",
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[]",
    b'{"version": 1}',
    b'{"clients": {}}',
    b'{"version": 99, "clients": {}}',
    b'{"version": 1, "clients": {"cid": {"users": []}}}',
    b'{"version": 1, "clients": {"cid": {"current": "u", "users": {"u": {"access_token": 1}}}}}',
])
def test_corrupt_cache_is_a_clear_error_and_is_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    with pytest.raises(CacheCorrupt) as info:
        TokenCache(path).load("cid")
    assert isinstance(info.value, LoginRequired)
    assert "spotkit login" in str(info.value)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content  # never silently deleted


@pytest.mark.skipif(not POSIX or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_cache_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    TokenCache(path).save("cid", "alice", tok())
    path.chmod(0)
    try:
        with pytest.raises(CacheCorrupt, match="spotkit login"):
            TokenCache(path).load("cid")
    finally:
        path.chmod(0o600)


def test_unreadable_cache_reports_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.mkdir()  # a directory where the file should be: unreadable for everyone, root included
    with pytest.raises(CacheCorrupt, match="is a folder, not a file"):
        TokenCache(path).load("cid")


def test_login_after_corruption_moves_the_damaged_file_aside(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(b"{garbage")
    cache = TokenCache(path)
    cache.save("cid", "alice", tok())
    assert cache.load("cid") is not None
    kept = list(tmp_path.glob("tokens.json.corrupt-*"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == b"{garbage"


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_a_shared_file_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tokens.json"
    cache = TokenCache(path)
    cache.save("cid", "alice", tok())
    path.chmod(0o644)
    caplog.set_level("WARNING", logger="spotkit")
    cache.load("cid")
    assert "readable by others" in caplog.text
    cache.save("cid", "alice", tok(2))
    assert mode(path) == 0o600


# --- removing ------------------------------------------------------------------------------------


def test_remove(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    cache = TokenCache(path)
    cache.save("app1", "alice", tok(1))
    cache.save("app1", "bob", tok(2))
    cache.save("app2", "carol", tok(3))
    removed = cache.remove("app1")
    assert removed is not None
    assert removed.user_id == "bob"
    assert cache.current_user("app1") == "alice"
    assert cache.remove("app1", "alice") is not None
    assert cache.load("app1") is None
    assert cache.load("app2") is not None
    assert cache.remove("app1") is None
    assert cache.remove("app2") is not None
    assert not path.exists()  # nothing left: no file with secrets lying around


# --- locking -------------------------------------------------------------------------------------


def test_lock_is_reentrant_and_excludes_other_processes(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    cache = TokenCache(path)
    probe = textwrap.dedent(f"""
        import sys, filelock
        try:
            filelock.FileLock({str(cache.lock_path)!r}).acquire(timeout=0.2)
        except filelock.Timeout:
            sys.exit(3)
        sys.exit(0)
    """)
    with cache.lock(), cache.lock():
        cache.save("cid", "alice", tok())  # save takes the lock again: no deadlock
        assert subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 3
    assert subprocess.run([sys.executable, "-c", probe], timeout=30).returncode == 0


def test_lock_timeout_is_a_clear_error(tmp_path: Path) -> None:
    import filelock

    from spotkit.errors import AuthError

    cache = TokenCache(tmp_path / "tokens.json", lock_timeout=0.1)
    holder = filelock.FileLock(cache.lock_path)
    with holder, pytest.raises(AuthError, match="stayed locked"):
        cache.save("cid", "alice", tok())


# --- crash safety --------------------------------------------------------------------------------

# A helper process imports spotkit once, then forks one writer per trial (a fresh interpreter per
# trial would spend most of the test starting Python). Writer `t` saves tokens "access-t-n" in a
# loop until killed; the helper answers a spawn once the writer has saved its first token, so the
# kill lands among saves, not before the first. A writer that stops for any other reason (a save
# that raised) exits 3, and the helper reports how each writer ended, so a failing save cannot pass
# for a killed one.
_SPAWNER = textwrap.dedent("""
    import os, sys, time, traceback
    import filelock  # what the first save would import: loaded once here, before the forks
    from spotkit.auth.cache import TokenCache
    from spotkit.auth.token import Token
    scope = tuple(f"scope-{i}" for i in range(40))  # a few KB per write
    for line in sys.stdin:
        command, trial = line.split()
        if command == "kill":
            os.kill(pid, 9)  # SIGKILL: no cleanup, no finally
            _, status = os.waitpid(pid, 0)
            killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9
            print("killed" if killed else f"exited {os.waitstatus_to_exitcode(status)}", flush=True)
            continue
        first_save, saved = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                cache = TokenCache(sys.argv[1])
                n = 0
                while True:
                    n += 1
                    cache.save("cid", "alice", Token(f"access-{trial}-{n}", f"refresh-{trial}-{n}",
                                                     scope, time.time() + 3600))
                    if n == 1:
                        os.write(saved, b"1")
            except BaseException:
                traceback.print_exc()
                os._exit(3)
        os.close(saved)
        os.read(first_save, 1)  # b"" if the writer died before its first save
        os.close(first_save)
        print(pid, flush=True)
""")


def _version(token: Token) -> tuple[int, int]:
    """(trial, n) of a token a writer saved; (-1, 0) for the seed token."""
    parts = token.access_token.split("-")
    return (int(parts[1]), int(parts[2])) if len(parts) == 3 else (-1, 0)


@pytest.mark.slow
@pytest.mark.skipif(not POSIX or not hasattr(os, "fork"), reason="SIGKILL and fork")
def test_sigkill_while_writing_never_leaves_a_partial_file(tmp_path: Path) -> None:
    """A writer killed at a random moment, many times: the cache is always one whole token, never
    older than the last one read, and the writers really wrote.

    Temp-file policy: a killed writer may leave its `.tokens.json.<pid>.<rand>.tmp`; the next
    writer (holding the lock) deletes it, so at most one leftover exists at any time.
    """
    path = tmp_path / "tokens.json"
    cache = TokenCache(path)
    cache.save("cid", "alice", tok(0, scope=("x",)))
    rng = random.Random(1234)
    trials, leftovers_seen = 50, 0
    versions: list[tuple[int, int]] = []
    spawner = subprocess.Popen([sys.executable, "-c", _SPAWNER, str(path)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert spawner.stdin is not None
    assert spawner.stdout is not None
    try:
        for trial in range(trials):
            spawner.stdin.write(f"spawn {trial}\n")
            spawner.stdin.flush()
            int(spawner.stdout.readline())
            time.sleep(rng.uniform(0, 0.01))
            spawner.stdin.write(f"kill {trial}\n")
            spawner.stdin.flush()
            assert spawner.stdout.readline().strip() == "killed"  # by us, not by its own error
            token = cache.load("cid")  # parses: the whole file is there
            assert token is not None
            assert token.refresh_token == token.access_token.replace("access", "refresh")
            versions.append(_version(token))
            assert mode(path) == 0o600
            assert set(json.loads(path.read_text())) == {"version", "clients"}
            leftovers = list(tmp_path.glob(".tokens.json.*.tmp"))
            assert len(leftovers) <= 1
            leftovers_seen += len(leftovers)
            for leftover in leftovers:
                assert mode(leftover) == 0o600
    finally:
        spawner.stdin.close()
        spawner.wait(timeout=10)
    # what was read never went back in time (a lost or reordered write would) ...
    assert versions == sorted(versions), versions
    # ... and never came from a later trial than the one just killed
    assert all(t <= trial for (t, _), trial in zip(versions, range(trials), strict=True))
    # the writers wrote: every trial reads its own writer's token (the first save came before the kill)
    own = sum(t == trial for (t, _), trial in zip(versions, range(trials), strict=True))
    assert own == trials, versions
    cache.save("cid", "alice", tok(1))  # the next write cleans up
    assert not list(tmp_path.glob(".tokens.json.*.tmp"))
    print(f"{trials} SIGKILL trials, {own} read their own writer's token, "
          f"{leftovers_seen} killed mid-write, 0 corrupt files")
