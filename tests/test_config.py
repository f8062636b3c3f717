"""Settings: precedence, defaults and the redirect URI rules Spotify enforces since 2025."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotkit.config import (
    DEFAULT_ACCOUNTS_URL,
    DEFAULT_API_URL,
    DEFAULT_REDIRECT_URI,
    DEFAULT_SCOPES,
    ENV_KEYS,
    load_settings,
    validate_redirect_uri,
)
from spotkit.errors import ConfigError


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)


def test_defaults() -> None:
    s = load_settings(env={})
    assert s.client_id is None
    assert s.uses_pkce
    assert s.redirect_uri == DEFAULT_REDIRECT_URI
    assert s.authorize_url == f"{DEFAULT_ACCOUNTS_URL}/authorize"
    assert s.token_url == f"{DEFAULT_ACCOUNTS_URL}/api/token"
    assert s.api_url == DEFAULT_API_URL
    assert s.scopes == DEFAULT_SCOPES
    assert s.cache_path.name == "tokens.json"
    assert s.is_real_spotify


def test_argument_beats_environment_beats_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SPOTIFY_CLIENT_ID=from-dotenv\nSPOTIFY_CLIENT_SECRET=dotenv-secret\n"
        "SPOTKIT_API_URL=http://127.0.0.1:1/v1/\n"
    )
    s = load_settings(env={"SPOTIFY_CLIENT_ID": "from-env"})
    assert s.client_id == "from-env"
    assert s.client_secret == "dotenv-secret"
    assert s.api_url == "http://127.0.0.1:1/v1"  # trailing slash dropped
    assert load_settings(client_id="from-arg", env={"SPOTIFY_CLIENT_ID": "x"}).client_id == "from-arg"


def test_dotenv_does_not_touch_os_environ(tmp_path: Path) -> None:
    import os

    (tmp_path / ".env").write_text("SPOTIFY_CLIENT_ID=abc\n")
    assert load_settings().client_id == "abc"
    assert "SPOTIFY_CLIENT_ID" not in os.environ


def test_dotenv_can_be_disabled_or_pointed_elsewhere(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SPOTIFY_CLIENT_ID=abc\n")
    other = tmp_path / "other.env"
    other.write_text("SPOTIFY_CLIENT_ID=def\n")
    assert load_settings(env={}, dotenv=False).client_id is None
    assert load_settings(env={}, dotenv=other).client_id == "def"


def test_secret_never_in_repr() -> None:
    s = load_settings(env={"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "hunter2-secret"})
    assert "hunter2" not in repr(s)
    assert not s.uses_pkce


def test_scopes_from_env_and_argument() -> None:
    assert load_settings(env={"SPOTKIT_SCOPES": " a  b "}).scopes == ("a", "b")
    assert load_settings(env={}, scopes="x,y z").scopes == ("x", "y", "z")
    assert load_settings(env={}, scopes=["q"]).scopes == ("q",)
    with pytest.raises(ConfigError, match="SPOTKIT_SCOPES"):
        load_settings(env={}, scopes=[])


def test_blank_values_mean_unset() -> None:
    s = load_settings(env={"SPOTIFY_CLIENT_ID": "  ", "SPOTIFY_REDIRECT_URI": ""})
    assert s.client_id is None
    assert s.redirect_uri == DEFAULT_REDIRECT_URI


def test_cache_path_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    s = load_settings(env={"SPOTKIT_CACHE_PATH": "~/tok.json"})
    assert s.cache_path == tmp_path / "tok.json"


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:8888/callback",
        "http://[::1]:9000/cb",
        "https://example.com/callback",
        "https://example.com:8443/cb?x=1",
    ],
)
def test_accepted_redirect_uris(uri: str) -> None:
    validate_redirect_uri(uri)


@pytest.mark.parametrize(
    ("uri", "advice"),
    [
        ("http://localhost:8888/callback", "http://127.0.0.1:8888/callback"),
        ("https://localhost:8888/callback", "no longer accepts"),
        ("http://example.com/callback", "Use https"),
        ("http://192.168.1.2:8888/callback", "only allows http for"),
        ("http://127.0.0.1/callback", "http://127.0.0.1:8888/callback"),
        ("http://[::1]/callback", "Add one"),
        ("127.0.0.1:8888/callback", "not a valid"),
        ("http://127.0.0.1:99999/callback", "from 1 to 65535; write e.g. http://127.0.0.1:8888/callback"),
        ("http://127.0.0.1:0/callback", "from 1 to 65535; write e.g. http://127.0.0.1:8888/callback"),
        ("http://[::1]:0/cb", "write e.g. http://[::1]:8888/cb"),
        ("https://example.com:0/cb", "write e.g. https://example.com:8888/cb"),
        ("ftp://127.0.0.1:21/x", "not a valid http(s) URL"),
        ("http://127.0.0.1:8888/cb#frag", "fragment"),
    ],
)
def test_rejected_redirect_uris_say_what_to_write(uri: str, advice: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env={"SPOTIFY_REDIRECT_URI": uri})
    assert advice in str(info.value)


@pytest.mark.parametrize("url", ["127.0.0.1:9/v1", "http://", "http://h:bad/", "http://h/v1?x=1"])
def test_bad_base_urls(url: str) -> None:
    with pytest.raises(ConfigError, match="SPOTKIT_API_URL"):
        load_settings(env={"SPOTKIT_API_URL": url})


def test_missing_client_id_says_where_to_set_it() -> None:
    with pytest.raises(ConfigError, match="SPOTIFY_CLIENT_ID"):
        load_settings(env={}).require_client_id()
    assert load_settings(env={"SPOTIFY_CLIENT_ID": "abc"}).require_client_id() == "abc"


def test_replace_validates() -> None:
    s = load_settings(env={})
    assert s.replace(client_id="z").client_id == "z"
    with pytest.raises(ConfigError):
        s.replace(redirect_uri="http://localhost:1/x")


def test_env_example_documents_every_key() -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    for key in ENV_KEYS:
        assert key in example


def test_settings_are_immutable_values() -> None:
    a = load_settings(env={"SPOTIFY_CLIENT_ID": "x"})
    b = load_settings(env={"SPOTIFY_CLIENT_ID": "x"})
    assert a == b
    assert hash(a) == hash(b)
    assert a != a.replace(client_id="y")
    with pytest.raises(AttributeError, match="replace"):
        a.client_id = "y"  # type: ignore[misc]
    with pytest.raises(TypeError, match="no field 'nope'"):
        a.replace(nope=1)


def test_config_keeps_heavy_modules_off_the_client_import_path() -> None:
    import subprocess
    import sys

    code = "import sys, spotkit.client; print(sorted({'dataclasses', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_test_reaches_the_users_spotkit_folders(spotkit_home: Path) -> None:
    from spotkit.config import default_data_dir
    from spotkit.history.logger import default_history_path
    from spotkit.library.store import default_cache_path as default_library_path
    from spotkit.metadata.cache import default_metadata_path

    # this module's tests set no SPOTKIT_ variable: where spotkit goes by default
    paths = [load_settings(dotenv=False).cache_path, default_data_dir(), default_history_path(),
             default_library_path(), default_metadata_path()]
    for path in paths:
        assert path.is_relative_to(spotkit_home), path
