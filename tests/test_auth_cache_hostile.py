"""The token cache read from hostile files: any bytes, any shape, anything where the file should be.

Each is one CacheCorrupt (a LoginRequired) naming the path and what to do, the CLI prints it on one
line and exits 1, and the file is never changed, deleted or overwritten by reading it.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotkit.auth.cache import TokenCache
from spotkit.auth.token import Token
from spotkit.cli import main
from spotkit.errors import CacheCorrupt, LoginRequired

POSIX = sys.platform != "win32"


def entry(**fields: object) -> bytes:
    user = {"access_token": "a", "refresh_token": "r", "scope": "s", "expires_at": 2e9,
            "token_type": "Bearer", **fields}
    return json.dumps({"version": 1, "clients": {"cid": {"current": "u", "users": {"u": user}}}}).encode()


HOSTILE: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "it is empty"),
    "only whitespace": (b"  \n\t\n", "it is empty"),
    "not UTF-8": (b'{"version": 1, "clients": {"caf\xe9": {}}}', "not UTF-8"),
    "UTF-16": ('{"version": 1, "clients": {}}'.encode("utf-16"), "not UTF-8"),
    "NUL bytes": (b"\x00" * 64, "not valid JSON"),
    "truncated JSON": (entry()[:40], "not valid JSON"),
    "deeply nested arrays": (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    "deeply nested objects": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
    "a JSON list": (b"[1, 2, 3]", "not a JSON object"),
    "a JSON string": (b'"tokens"', "not a JSON object"),
    "no version": (b'{"clients": {}}', "no known format version"),
    "version true": (b'{"version": true, "clients": {}}', "no known format version"),
    "a newer version": (b'{"version": 99, "clients": {}}', "newer spotkit"),
    "version beyond 64 bits": (b'{"version": 18446744073709551617, "clients": {}}', "newer spotkit"),
    "clients a list": (b'{"version": 1, "clients": []}', "no 'clients' object"),
    "users a string": (b'{"version": 1, "clients": {"cid": {"users": "u"}}}', "malformed"),
    "expires_at beyond any float": (entry(expires_at=10**400), "expires_at"),
    "expires_at 1e400 (infinity)": (entry()[:-1].replace(b"2000000000.0", b"1e400") + b"}",
                                    "expires_at"),
    "expires_at NaN": (entry(expires_at=float("nan")), "expires_at"),
    "expires_at 5000 digits": (entry()[:-1].replace(b"2000000000.0", b"9" * 5000) + b"}",
                               "not valid JSON"),
    "expires_at a string": (entry(expires_at="tomorrow"), "expires_at"),
    "access_token a number": (entry(access_token=12345678901234567890123), "access_token"),
    "scope a dict": (entry(scope={"a": 1}), "scope"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_content_is_one_clear_error_and_the_file_stays(name: str, tmp_path: Path) -> None:
    content, reason = HOSTILE[name]
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    with pytest.raises(CacheCorrupt) as info:
        TokenCache(path).load("cid")
    assert isinstance(info.value, LoginRequired)  # the widget shows its login button for it
    message = str(info.value)
    assert reason in message
    assert str(path) in message
    assert "spotkit login" in message
    assert "\n" not in message
    assert path.read_bytes() == content


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    with open(path, "wb") as fh:
        fh.truncate(64 << 20)  # sparse: 64 MiB that take no room
    with pytest.raises(CacheCorrupt, match="far more than a token cache holds"):
        TokenCache(path).load("cid")
    assert path.stat().st_size == 64 << 20


def test_a_folder_where_the_file_should_be_is_named_and_never_moved(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    (path / "inside").mkdir(parents=True)
    (path / "inside" / "keep.txt").write_text("mine")
    cache = TokenCache(path)
    with pytest.raises(CacheCorrupt, match=r"is a folder, not a file\. Move it away or set "
                                           r"SPOTKIT_CACHE_PATH"):
        cache.load("cid")
    token = Token("a", "r", ("s",), time.time() + 3600)
    with pytest.raises(CacheCorrupt, match="is a folder"):
        cache.save("cid", "u", token)  # a login must not move the user's folder aside either
    assert (path / "inside" / "keep.txt").read_text() == "mine"
    assert not list(tmp_path.glob("tokens.json.corrupt-*"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
@pytest.mark.timeout(10)
def test_a_fifo_where_the_file_should_be_never_blocks(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    os.mkfifo(path)
    with pytest.raises(CacheCorrupt, match="not a regular file"):
        TokenCache(path).load("cid")  # opening a FIFO for reading waits for a writer forever
    assert stat.S_ISFIFO(path.stat().st_mode)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix sockets")
def test_a_socket_where_the_file_should_be(tmp_path: Path) -> None:
    path = tmp_path / "t.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(CacheCorrupt, match="not a regular file"):
            TokenCache(path).load("cid")


def test_a_file_where_the_folder_should_be(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("not a folder")
    with pytest.raises(CacheCorrupt, match=r"cannot be read: Not a directory"):
        TokenCache(tmp_path / "config" / "tokens.json").load("cid")
    assert (tmp_path / "config").read_text() == "not a folder"


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(entry())
    if POSIX and os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads any file: refuse it the way the kernel refuses anyone else
        real = Path.read_bytes

        def denied(self: Path) -> bytes:
            if self == path:
                raise PermissionError(13, "Permission denied")
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(CacheCorrupt, match=r"cannot be read: Permission denied.*spotkit login"):
        TokenCache(path).load("cid")


@pytest.mark.skipif(not POSIX, reason="symlinks")
def test_a_symlink_loop(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.symlink_to(path)
    with pytest.raises(CacheCorrupt, match="cannot be read"):
        TokenCache(path).load("cid")


def test_odd_but_harmless_values_are_read(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(entry(display_name=12, saved_at="x", expires_at=10**30))
    loaded = TokenCache(path).load_entry("cid")
    assert loaded is not None
    assert loaded.display_name is None
    assert not loaded.token.expired()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(
    st.binary(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.sampled_from(["version", "clients", "cid", "users", "current",
                                                    "u", "access_token", "expires_at", "scope"]),
                                   inner, max_size=4),
                 max_leaves=20).map(lambda v: json.dumps(v).encode())))
def test_any_bytes_as_a_cache_file_give_a_token_none_or_cache_corrupt(content: bytes,
                                                                      tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    cache = TokenCache(path)
    for read in (lambda: cache.load("cid"), lambda: cache.load("cid", "u"),
                 lambda: cache.users("cid"), lambda: cache.current_user("cid")):
        error: CacheCorrupt | None = None
        try:
            read()
        except CacheCorrupt as exc:
            error = exc
        assert error is None or str(path) in str(error)
    assert path.read_bytes() == content


# --- through the CLI ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "cid")
    monkeypatch.setenv("SPOTKIT_API_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SPOTKIT_ACCOUNTS_URL", "http://127.0.0.1:9")
    path = tmp_path / "tokens.json"
    monkeypatch.setenv("SPOTKIT_CACHE_PATH", str(path))
    return path


@pytest.mark.parametrize("name", ["empty", "not UTF-8", "deeply nested arrays",
                                  "expires_at beyond any float", "a newer version"])
@pytest.mark.parametrize("command", [["whoami"], ["now"], ["recent"]])
def test_the_cli_prints_one_line_and_exits_1(name: str, command: list[str], cli_env: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    content, reason = HOSTILE[name]
    cli_env.write_bytes(content)
    cli_env.chmod(0o600)  # private, as spotkit writes it: no warning line besides the error
    assert main(command) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.strip().splitlines() == [err.strip()]
    assert reason in err
    assert str(cli_env) in err
    assert cli_env.read_bytes() == content


def test_the_cli_names_a_folder_in_one_line(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli_env.mkdir()
    assert main(["whoami"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is a folder, not a file" in err


@pytest.mark.skipif(not POSIX, reason="POSIX modes")
def test_a_world_readable_cache_warns_without_v(cli_env: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    TokenCache(cli_env).save("cid", "u", Token("secret-access", "secret-refresh", ("s",),
                                                time.time() + 3600))
    cli_env.chmod(0o644)
    main(["whoami"])  # Spotify is unreachable here; the warning comes first
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("spotkit: warning:")]
    assert len(warnings) == 1, err  # once, however often the command reads the cache
    assert "readable by others (mode 644)" in warnings[0]
    assert f"chmod 600 {cli_env}" in warnings[0]
    assert "secret-" not in err
