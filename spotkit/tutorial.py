"""The first cell of every tutorial: use the real Spotify when it is configured, else the sandbox.

::

    import spotkit
    session = spotkit.quickstart()   # says which one it picked, in one line

With the sandbox, the notebook's kernel gets an offline Spotify of its own (or uses the one
`spotkit demo` started), and its user has already approved the app, so every later cell runs
without a browser. With the real Spotify nothing happens until you log in (the login button).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .config import Settings, default_data_dir, load_settings
from .errors import LoginRequired

if TYPE_CHECKING:
    from .sandbox.server import Sandbox

__all__ = ["Quickstart", "quickstart", "sandbox_env", "sandbox_requested"]

Mode = Literal["spotify", "sandbox"]


@dataclass
class Quickstart:
    """What :func:`quickstart` picked, and where the tutorials keep their files."""

    mode: Mode
    settings: Settings
    data_dir: Path
    sandbox_url: str | None = None
    display_name: str | None = None
    #: how much faster than real time playback runs (the sandbox's time compression; 1.0 for Spotify)
    speed: float = 1.0
    sandbox: Sandbox | None = field(default=None, repr=False)

    @property
    def summary(self) -> str:
        if self.mode == "spotify":
            who = f", logged in as {self.display_name}" if self.display_name else \
                ", not logged in yet: use the login button below"
            return f"spotkit is using the real Spotify{who}."
        return (f"spotkit is using the sandbox, an offline Spotify at {self.sandbox_url} "
                f"(logged in as {self.display_name}).")

    def data_export_dir(self) -> Path:
        """Where the tutorials look for Spotify's data export.

        It is `my_spotify_data` next to the notebook: unzip the export you downloaded from your
        account's privacy page there. Reading it needs no login and no app, so it is used whenever
        it exists, even on the sandbox (which is what runs when no client id is configured).
        Without it, the sandbox writes a synthetic export of its user's last two years instead.
        """
        own = Path("my_spotify_data").resolve()
        if self.mode == "sandbox" and not own.is_dir():
            target = self.data_dir / "my_spotify_data"
            if not target.exists():
                from .sandbox.export import write_data_export

                write_data_export(target)
            return target
        return own

    def close(self) -> None:
        """Stop the sandbox this session started and delete its folder (no-op otherwise)."""
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(self.summary)}</p>"


_lock = threading.Lock()
_current: Quickstart | None = None


def quickstart(*, sandbox: bool | None = None, speed: float = 1.0, quiet: bool = False) -> Quickstart:
    """Pick the real Spotify or the sandbox, print which, and return what was picked.

    `sandbox=None` (the default) uses the sandbox when SPOTKIT_SANDBOX=1 is set, when `spotkit
    demo` started one, or when no client id is configured; `True` or `False` forces the choice.
    `speed` is the sandbox's time compression (a 3-minute track lasts 180/speed seconds).
    Calling it again returns the same session.
    """
    global _current
    with _lock:
        if _current is None:
            _current = _start(sandbox, speed)
            from .client import set_default_client

            set_default_client(None)  # the shortcuts pick up the settings chosen here
    if not quiet:
        print(_current.summary)  # noqa: T201 - the one line the tutorials show
    return _current


def _start(sandbox: bool | None, speed: float) -> Quickstart:
    external = os.environ.get("SPOTKIT_SANDBOX_URL")
    if sandbox is None:
        sandbox = bool(external) or sandbox_requested(load_settings())
    if not sandbox:
        settings = load_settings()
        return Quickstart("spotify", settings, default_data_dir(), display_name=_logged_in(settings))
    if external:
        settings = load_settings()
        data_dir = settings.cache_path.parent
        session = Quickstart("sandbox", settings, data_dir, sandbox_url=external,
                             speed=_sandbox_speed(external))
    else:
        session = _start_sandbox(speed)
        session.speed = speed
    session.display_name = _logged_in(session.settings) or _robot_login(session.settings)
    return session


def _start_sandbox(speed: float) -> Quickstart:
    from .sandbox import Sandbox

    sb = Sandbox(speed=speed).start()
    data_dir = Path(tempfile.mkdtemp(prefix="spotkit-sandbox-"))
    os.environ.pop("SPOTIFY_CLIENT_SECRET", None)
    os.environ.update(sandbox_env(sb, data_dir))
    session = Quickstart("sandbox", load_settings(), data_dir, sandbox_url=sb.base_url, sandbox=sb)
    atexit.register(session.close)  # the sandbox, its tokens and its data export die with the kernel
    return session


def _sandbox_speed(base_url: str) -> float:
    """The time compression of a sandbox another process started (1.0 if it cannot be asked)."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base_url}/_sandbox/state", timeout=5) as resp:  # noqa: S310
            return float(json.load(resp)["speed"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1.0


def sandbox_requested(settings: Settings) -> bool:
    """Whether to use the sandbox when nobody said: SPOTKIT_SANDBOX=1, or no client id configured."""
    forced = os.environ.get("SPOTKIT_SANDBOX", "").strip().lower() in ("1", "true", "yes")
    return forced or not settings.client_id


def sandbox_env(sb: Sandbox, data_dir: Path) -> dict[str, str]:
    """The environment that points spotkit (here or in a child process) at `sb`, with a private
    token cache and data folder (history, library cache) in `data_dir`."""
    return {
        **sb.env,
        # a free port of our own: 8888 is often taken by Jupyter itself
        "SPOTIFY_REDIRECT_URI": sb.free_redirect_uri(),
        "SPOTKIT_CACHE_PATH": str(data_dir / "tokens.json"),
        "SPOTKIT_DATA_DIR": str(data_dir),
    }


def _logged_in(settings: Settings) -> str | None:
    """The display name of the cached login, or None when there is none (or it is unusable)."""
    from .auth.tokens import TokenManager

    try:
        manager = TokenManager(settings)
        manager.token()
        return manager.display_name or manager.user_id
    except LoginRequired:
        return None


def _robot_login(settings: Settings) -> str | None:
    """Log in to the sandbox as its user would, with a stand-in browser pressing Agree."""
    from .auth.login import LoginFlow
    from .sandbox.browser import consent

    flow = LoginFlow(settings).start(timeout=30)
    threading.Thread(target=consent, args=(flow.authorize_url,), daemon=True).start()
    flow.wait(30)
    return flow.display_name
