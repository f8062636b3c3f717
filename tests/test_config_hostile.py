"""Settings against hostile input: `.env` files of any shape, ports out of range, odd values.

Each bad input is one ConfigError naming the path or value and what to do (the CLI prints it on one
line and exits 1); the file is never changed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spotkit.cli import main
from spotkit.config import ENV_KEYS, check_port, load_settings
from spotkit.errors import ConfigError


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI; it must exit 1 with one line on stderr (no traceback); that line."""
    assert main(list(argv)) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --- .env files --------------------------------------------------------------------------------

HOSTILE_DOTENV = {
    "not UTF-8": (b"SPOTIFY_CLIENT_ID=caf\xe9\n", "not UTF-8"),
    "UTF-16": ("SPOTIFY_CLIENT_ID=abc\n".encode("utf-16"), "not UTF-8"),
    "NUL bytes": (b"SPOTIFY_CLIENT_ID=abc\x00\x00\n", "NUL"),
    "a bad port inside": (b"SPOTIFY_REDIRECT_URI=http://127.0.0.1:0/callback\n", "1 to 65535"),
}


@pytest.mark.parametrize("name", HOSTILE_DOTENV)
def test_hostile_dotenv_is_one_clear_line_and_left_alone(name: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    content, advice = HOSTILE_DOTENV[name]
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(content)
    with pytest.raises(ConfigError, match=advice) as info:
        load_settings()
    assert str(info.value).count("\n") == 0
    if name != "a bad port inside":  # a value, not the file, is at fault there
        assert str(dotenv) in str(info.value)
    line = one_line_error(capsys, "whoami")
    assert advice in line
    assert dotenv.read_bytes() == content


@pytest.mark.parametrize("content", [b"", b"\n\n", b"# only a comment\n", b"\xef\xbb\xbf",
                                     b"SPOTIFY_CLIENT_ID=abc\r\n", b"garbage without equals\n"])
def test_empty_or_odd_but_readable_dotenv_is_fine(content: bytes, tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(content)
    s = load_settings()
    assert s.client_id in (None, "abc")


def test_a_huge_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("X=" + "y" * 5_000_000 + "\nSPOTIFY_CLIENT_ID=abc\n")
    assert load_settings().client_id == "abc"


def test_a_folder_named_dotenv_is_a_virtualenv_not_settings(tmp_path: Path) -> None:
    (tmp_path / ".env" / "bin").mkdir(parents=True)
    assert load_settings().client_id is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_fifo_named_dotenv_is_not_read_so_nothing_blocks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".env")
    assert load_settings().client_id is None  # opening it would wait for a writer forever
    with pytest.raises(ConfigError, match="is not a file"):
        load_settings(dotenv=tmp_path / ".env")


def test_an_unreadable_dotenv_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("SPOTIFY_CLIENT_ID=abc\n")
    if os.name == "posix" and os.geteuid() != 0:
        dotenv.chmod(0)
    else:  # root reads any file: refuse it the way the kernel would refuse anyone else
        real = Path.read_bytes

        def denied(self: Path) -> bytes:
            if self.name == ".env":
                raise PermissionError(13, "Permission denied")
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError, match=r"cannot be read \(Permission denied\)"):
        load_settings()
    assert str(dotenv) in one_line_error(capsys, "whoami")


def test_an_explicit_settings_file_must_exist_and_be_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(dotenv=tmp_path / "missing.env")
    (tmp_path / "folder.env").mkdir()
    with pytest.raises(ConfigError, match=r"folder.env is not a file"):
        load_settings(dotenv=tmp_path / "folder.env")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=400))
def test_any_bytes_as_dotenv_give_settings_or_a_config_error(content: bytes, tmp_path: Path) -> None:
    dotenv = tmp_path / "any.env"
    dotenv.write_bytes(content)
    error: ConfigError | None = None
    try:
        load_settings(env={}, dotenv=dotenv)
    except ConfigError as exc:
        error = exc
    assert error is None or "\n" not in str(error)
    assert dotenv.read_bytes() == content


# --- ports and other values ----------------------------------------------------------------------


@pytest.mark.parametrize("port", ["0", "65536", "-1", "99999999999999999999999", "8888.0", "0x22b8",
                                  " ", "８８８８"])
def test_redirect_uri_ports_out_of_range_are_refused_with_what_to_write(port: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"SPOTIFY_REDIRECT_URI": f"http://127.0.0.1:{port}/callback"},
                      dotenv=False)
    message = str(info.value)
    assert "SPOTIFY_REDIRECT_URI" in message
    assert "http://127.0.0.1:8888/callback" in message
    assert "\n" not in message


@pytest.mark.parametrize("key", ["SPOTKIT_API_URL", "SPOTKIT_ACCOUNTS_URL"])
@pytest.mark.parametrize("port", ["0", "65536", "18446744073709551616"])
def test_base_url_ports_out_of_range_are_refused(key: str, port: str) -> None:
    with pytest.raises(ConfigError, match=rf"{key} .* from 1 to 65535"):
        load_settings(env={key: f"http://127.0.0.1:{port}/x"}, dotenv=False)


def test_the_highest_port_is_fine() -> None:
    s = load_settings(env={"SPOTIFY_REDIRECT_URI": "http://127.0.0.1:65535/cb",
                           "SPOTKIT_API_URL": "http://127.0.0.1:1/v1"}, dotenv=False)
    assert s.redirect_uri.endswith(":65535/cb")


@pytest.mark.parametrize(("value", "allow_zero", "ok"), [
    (1, False, True), (65535, False, True), (0, False, False), (0, True, True), (65536, True, False),
    (-1, True, False), (True, True, False), (80.0, False, False), ("443", False, True),
    ("4 43", False, False), (2**64, True, False), ("", True, False), (None, True, False),
])
def test_check_port(value: object, allow_zero: bool, ok: bool) -> None:
    if ok:
        assert check_port(value, "--port", allow_zero=allow_zero) == int(value)  # type: ignore[call-overload]
    else:
        with pytest.raises(ConfigError, match=r"--port .* is not a port: use a whole number from"):
            check_port(value, "--port", allow_zero=allow_zero)


@pytest.mark.parametrize(("argv", "advice"), [
    (["sandbox", "--port", "65536"], "from 0 to 65535 (0: any free port)"),
    (["sandbox", "--port", "-1"], "from 0 to 65535"),
    (["sandbox", "--port", "http"], "from 0 to 65535"),
    (["demo", "--port", "0"], "from 1 to 65535"),
    (["demo", "--port", "70000"], "from 1 to 65535"),
])
def test_cli_port_flags_are_checked(argv: list[str], advice: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2  # argparse's usage error
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert advice in err


def test_sandbox_ports_are_checked() -> None:
    from spotkit.sandbox import Sandbox

    for port in (-1, 65536, True, 2**64):
        with pytest.raises(ValueError, match="1-65535, or 0 for any free port"):
            Sandbox(port=port)
    with pytest.raises(ValueError, match="a port must be 1-65535"):
        Sandbox(redirect_uris=["http://127.0.0.1:0/callback"])
    # registered without a port, loopback matches any port, but never 0 (as Spotify)
    from spotkit.sandbox.accounts import redirect_uri_allowed

    assert redirect_uri_allowed("http://127.0.0.1:1/callback", ["http://127.0.0.1/callback"])
    assert not redirect_uri_allowed("http://127.0.0.1:0/callback", ["http://127.0.0.1/callback"])


def test_a_nul_in_the_cache_path_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"SPOTKIT_CACHE_PATH .* NUL"):
        load_settings(env={"SPOTKIT_CACHE_PATH": "/tmp/a\x00b"}, dotenv=False)


def test_whoami_with_a_bad_redirect_port_in_the_environment_is_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "a" * 32)
    monkeypatch.setenv("SPOTIFY_REDIRECT_URI", "http://127.0.0.1:0/callback")
    line = one_line_error(capsys, "whoami")
    assert line.startswith("spotkit: SPOTIFY_REDIRECT_URI")
    assert "write e.g. http://127.0.0.1:8888/callback" in line
    assert sys.exc_info() == (None, None, None)
