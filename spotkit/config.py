"""Settings: explicit arguments, then the environment, then `.env` in the working directory.

The real environment wins over `.env` (python-dotenv's rule). Every value is checked here, once,
so that a bad redirect URI fails with advice before any browser opens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError

__all__ = [
    "DEFAULT_ACCOUNTS_URL",
    "DEFAULT_API_URL",
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_SCOPES",
    "ENV_KEYS",
    "Settings",
    "check_port",
    "default_cache_path",
    "default_data_dir",
    "load_settings",
    "validate_redirect_uri",
]

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_SCOPES: tuple[str, ...] = (
    "user-read-playback-state",
    "user-read-currently-playing",
    "user-read-recently-played",
    "user-modify-playback-state",
    "playlist-read-private",
    "user-read-private",
    "playlist-read-collaborative",
    "user-library-read",
    "user-top-read",
    "user-follow-read",
    "playlist-modify-private",
    "playlist-modify-public",
    "user-library-modify",
)

#: Every key spotkit reads, with what it means (the source of `.env.example`).
ENV_KEYS: dict[str, str] = {
    "SPOTIFY_CLIENT_ID": "your app's client id from the Spotify developer dashboard",
    "SPOTIFY_CLIENT_SECRET": "optional; leave unset to log in with PKCE as a public client",
    "SPOTIFY_REDIRECT_URI": f"a redirect URI registered for the app (default {DEFAULT_REDIRECT_URI})",
    "SPOTKIT_CACHE_PATH": "the token cache file (default: tokens.json in the user's config folder)",
    "SPOTKIT_ACCOUNTS_URL": f"Spotify's accounts service (default {DEFAULT_ACCOUNTS_URL})",
    "SPOTKIT_API_URL": f"Spotify's Web API (default {DEFAULT_API_URL})",
    "SPOTKIT_SCOPES": "space-separated scopes to request instead of the defaults",
    "SPOTKIT_DATA_DIR": "where spotkit keeps its databases (default: the user's data folder)",
    "SPOTKIT_SANDBOX": "1: run the tutorials and `spotkit demo` on the sandbox even with credentials",
}

_APP_NAME = "spotkit"


def default_cache_path() -> Path:
    """`tokens.json` in the user's config directory (e.g. ~/.config/spotkit on Linux)."""
    from platformdirs import user_config_path

    return user_config_path(_APP_NAME) / "tokens.json"


def default_data_dir() -> Path:
    """Where spotkit keeps its databases (history, library cache): ``SPOTKIT_DATA_DIR`` when set,
    else the user's data directory (e.g. ~/.local/share/spotkit)."""
    override = os.environ.get("SPOTKIT_DATA_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path(_APP_NAME)


class Settings:
    """Everything spotkit needs to talk to Spotify, immutable. The secret never appears in the repr.

    A plain class rather than a dataclass: `dataclasses` imports `inspect`, and this module is on
    the import path of every first call.
    """

    _FIELDS = ("client_id", "client_secret", "redirect_uri", "cache_path", "accounts_url", "api_url",
               "scopes")
    __slots__ = _FIELDS

    client_id: str | None
    client_secret: str | None
    redirect_uri: str
    cache_path: Path
    accounts_url: str
    api_url: str
    scopes: tuple[str, ...]

    def __init__(self, client_id: str | None = None, client_secret: str | None = None,
                 redirect_uri: str = DEFAULT_REDIRECT_URI, cache_path: Path | None = None,
                 accounts_url: str = DEFAULT_ACCOUNTS_URL, api_url: str = DEFAULT_API_URL,
                 scopes: tuple[str, ...] = DEFAULT_SCOPES) -> None:
        values = (client_id, client_secret, redirect_uri,
                  default_cache_path() if cache_path is None else Path(cache_path),
                  accounts_url, api_url, tuple(scopes))
        for name, value in zip(self._FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Settings are immutable: use settings.replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Settings are immutable")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS
                          if name != "client_secret")
        return f"Settings({shown})"

    @property
    def authorize_url(self) -> str:
        return f"{self.accounts_url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.accounts_url}/api/token"

    @property
    def uses_pkce(self) -> bool:
        """True for a public client: no secret is configured."""
        return not self.client_secret

    @property
    def is_real_spotify(self) -> bool:
        return self.accounts_url == DEFAULT_ACCOUNTS_URL and self.api_url == DEFAULT_API_URL

    def require_client_id(self) -> str:
        if not self.client_id:
            raise ConfigError(
                "No Spotify client id is configured. Set SPOTIFY_CLIENT_ID in the environment or in "
                "a .env file (see .env.example), or pass client_id=...; to try spotkit without an "
                "app, run `spotkit sandbox`."
            )
        return self.client_id

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed; a new redirect URI is checked like a loaded one."""
        unknown = set(changes) - set(self._FIELDS)
        if unknown:
            raise TypeError(f"Settings has no field {sorted(unknown)[0]!r}")
        values = {name: getattr(self, name) for name in self._FIELDS}
        new = Settings(**{**values, **changes})
        validate_redirect_uri(new.redirect_uri)
        return new


def load_settings(
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uri: str | None = None,
    cache_path: str | os.PathLike[str] | None = None,
    accounts_url: str | None = None,
    api_url: str | None = None,
    scopes: str | tuple[str, ...] | list[str] | None = None,
    env: Mapping[str, str] | None = None,
    dotenv: bool | str | os.PathLike[str] = True,
) -> Settings:
    """Settings from arguments, then `env` (default `os.environ`), then `.env` (or the file given).

    Raises :class:`ConfigError` with advice for a value Spotify would reject.
    """
    source: dict[str, str] = {}
    if dotenv:
        source.update(_read_dotenv(Path(".env")) if dotenv is True
                      else _read_dotenv(Path(dotenv), explicit=True))
    source.update(os.environ if env is None else env)

    def pick(arg: str | None, key: str) -> str | None:
        if arg is not None:
            return arg
        value = source.get(key)
        return value.strip() if value and value.strip() else None

    redirect = pick(redirect_uri, "SPOTIFY_REDIRECT_URI") or DEFAULT_REDIRECT_URI
    validate_redirect_uri(redirect)
    accounts = _validate_base_url(pick(accounts_url, "SPOTKIT_ACCOUNTS_URL") or DEFAULT_ACCOUNTS_URL,
                                  "SPOTKIT_ACCOUNTS_URL")
    api = _validate_base_url(pick(api_url, "SPOTKIT_API_URL") or DEFAULT_API_URL, "SPOTKIT_API_URL")

    if scopes is None:
        raw = pick(None, "SPOTKIT_SCOPES")
        scope_tuple = tuple(raw.split()) if raw else DEFAULT_SCOPES
    elif isinstance(scopes, str):
        scope_tuple = tuple(scopes.replace(",", " ").split())
    else:
        scope_tuple = tuple(scopes)
    if not scope_tuple:
        raise ConfigError("SPOTKIT_SCOPES is empty: remove it to use the defaults, or list scopes "
                          "separated by spaces, e.g. 'user-read-currently-playing user-read-private'.")

    cache = cache_path if cache_path is not None else pick(None, "SPOTKIT_CACHE_PATH")
    if cache and "\0" in os.fspath(cache):
        raise ConfigError(f"SPOTKIT_CACHE_PATH {os.fspath(cache)!r} contains a NUL character; "
                          "give a file path such as ~/.config/spotkit/tokens.json.")
    return Settings(
        client_id=pick(client_id, "SPOTIFY_CLIENT_ID"),
        client_secret=pick(client_secret, "SPOTIFY_CLIENT_SECRET"),
        redirect_uri=redirect,
        cache_path=Path(cache).expanduser() if cache else None,
        accounts_url=accounts,
        api_url=api,
        scopes=scope_tuple,
    )


def _read_dotenv(relative: Path, explicit: bool = False) -> dict[str, str]:
    """The settings in `path`. The default `./.env` is optional (a folder of that name, often a
    virtualenv, is not a settings file); a file named explicitly must be a readable text file."""
    import stat

    path = relative.absolute()  # messages name the file wherever the user stands

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"The settings file {path} does not exist; check the path, or create "
                              "it from .env.example.") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"The settings file {path} cannot be read ({exc.strerror}); fix its "
                          "permissions or remove it.") from None
    if not stat.S_ISREG(mode):
        if explicit:
            raise ConfigError(f"The settings file {path} is not a file (a folder or a device); "
                              "give the path of a .env file.")
        return {}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"The settings file {path} is not UTF-8 text (byte {exc.start}); save it "
                          "as UTF-8, or remove it.") from None
    except OSError as exc:
        raise ConfigError(f"The settings file {path} cannot be read ({exc.strerror}); fix its "
                          "permissions or remove it.") from None
    if "\0" in text:
        raise ConfigError(f"The settings file {path} contains NUL bytes, so it is not a .env "
                          "text file; save it as plain text, or remove it.")
    import io

    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def _is_loopback_literal(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(value: object, what: str, *, allow_zero: bool = False) -> int:
    """`value` as a TCP port (1-65535; 0 too with `allow_zero`, meaning "any free port").

    Raises:
        ConfigError: naming `what` and the range, for anything else (bools, text, floats).
    """
    low = 0 if allow_zero else 1
    port: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        port = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        port = int(value.strip())
    if port is None or not low <= port <= 65535:
        extra = " (0: any free port)" if allow_zero else ""
        raise ConfigError(f"{what} {value!r} is not a port: use a whole number from {low} "
                          f"to 65535{extra}.")
    return port


def _url_port(uri: str, what: str, example: str) -> int | None:
    """The port of `uri` (None if it has none), refusing 0 and anything beyond 65535."""
    netloc = urlsplit(uri).netloc.rpartition("@")[2]
    host_end = netloc.rfind("]")
    colon = netloc.rfind(":")
    raw = netloc[colon + 1:] if colon > host_end else ""
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{what} {uri!r} has port {raw!r}, which cannot work: a port is a whole "
                          f"number from 1 to 65535; write e.g. {example}")
    return int(raw)


def validate_redirect_uri(uri: str) -> None:
    """Apply Spotify's 2025 redirect URI rules, raising :class:`ConfigError` with the fix.

    A port must be 1-65535: Spotify sends the browser to exactly the registered address, so port
    0 ("any free port") cannot be registered and spotkit could not listen where Spotify redirects.
    """
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        if "out of range" not in str(exc):
            raise ConfigError(f"SPOTIFY_REDIRECT_URI {uri!r} is not a valid URL ({exc}); "
                              f"use e.g. {DEFAULT_REDIRECT_URI}") from None
    netloc = parts.netloc
    host_part = netloc[:netloc.rfind(":")] if netloc.rfind(":") > netloc.rfind("]") else netloc
    example = f"{parts.scheme or 'http'}://{host_part or '127.0.0.1'}:8888{parts.path or '/callback'}"
    port = _url_port(uri, "SPOTIFY_REDIRECT_URI", example + " (and register that exact URI in "
                     "your app's settings)")
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"SPOTIFY_REDIRECT_URI {uri!r} is not a valid http(s) URL; "
                          f"use e.g. {DEFAULT_REDIRECT_URI}")
    if parts.fragment:
        raise ConfigError(f"SPOTIFY_REDIRECT_URI {uri!r} must not contain a '#fragment'.")
    if host == "localhost":
        fixed = uri.replace("localhost", "127.0.0.1", 1)
        raise ConfigError(
            f"SPOTIFY_REDIRECT_URI {uri!r} uses 'localhost', which Spotify no longer accepts (since "
            f"2025). Use the loopback address instead: {fixed} (and register that exact URI in your "
            "app's settings on the Spotify developer dashboard)."
        )
    if parts.scheme == "http" and not _is_loopback_literal(host):
        raise ConfigError(
            f"SPOTIFY_REDIRECT_URI {uri!r} uses plain http on a non-loopback host; Spotify only "
            "allows http for http://127.0.0.1:PORT/... or http://[::1]:PORT/... Use https, or "
            f"{DEFAULT_REDIRECT_URI}."
        )
    if _is_loopback_literal(host) and port is None:
        raise ConfigError(
            f"SPOTIFY_REDIRECT_URI {uri!r} has no port, so spotkit cannot listen for the callback. "
            f"Add one, e.g. {parts.scheme}://{parts.netloc}:8888{parts.path or '/callback'}"
        )


def _validate_base_url(url: str, key: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        if "out of range" in str(exc):
            _url_port(url, key, "'http://127.0.0.1:8900'")
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{key} {url!r} is not an http(s) URL, e.g. 'http://127.0.0.1:8900'.")
    _url_port(url, key, "'http://127.0.0.1:8900'")
    if parts.query or parts.fragment:
        raise ConfigError(f"{key} {url!r} must not have a query or fragment.")
    return url.rstrip("/")
