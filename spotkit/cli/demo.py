"""`spotkit demo`: the tutorials in JupyterLab, or a now-playing line in the terminal.

Without Spotify credentials (or with SPOTKIT_SANDBOX=1 or `--sandbox`) it starts the sandbox first
and points everything at it; with credentials it uses the real Spotify.

In a clone it opens `notebooks/` in place; installed from a wheel it copies the tutorials shipped
inside spotkit into `./spotkit-tutorials` (keeping any file the user changed, see
spotkit.tutorial_files) and opens them there. JupyterLab starts without its "Jupyter news" prompt,
on the first tutorial.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import load_settings
from ..errors import ConfigError, SpotkitError
from . import port_argument

if TYPE_CHECKING:
    from ..widgets.poller import PlayerView

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="open the tutorial notebooks in JupyterLab (on the sandbox "
                                    "when no Spotify credentials are configured)")
    p.add_argument("--terminal", action="store_true",
                   help="show a now-playing line in this terminal instead of JupyterLab")
    p.add_argument("--sandbox", action="store_true",
                   help="use the offline sandbox even when credentials are configured")
    p.add_argument("--speed", type=float, default=1.0,
                   help="the sandbox's time compression (default 1: real time)")
    p.add_argument("--port", type=port_argument(), default=8890, help="JupyterLab's port (default 8890)")
    p.add_argument("--notebooks", type=Path, default=None,
                   help="open the notebooks in this folder as they are (default: a clone's "
                        "notebooks/, else a copy of the tutorials in ./spotkit-tutorials)")
    p.add_argument("--fresh", action="store_true",
                   help="put back the original of every tutorial you changed in ./spotkit-tutorials "
                        "(your version is kept as a backup)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--duration", type=float, default=None, help=argparse.SUPPRESS)  # for tests
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # each line as it is printed, also into a pipe or a file: the address to open must not wait
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    stop = threading.Event()
    # stop.set() from another thread: the handler runs in the main thread, which may hold the
    # Event's lock inside stop.wait(), so setting it here could hang the process
    signal.signal(signal.SIGTERM,
                  lambda *_: threading.Thread(target=stop.set, daemon=True).start())
    if args.duration is not None:
        timer = threading.Timer(args.duration, stop.set)
        timer.daemon = True  # an earlier stop must not wait for it
        timer.start()

    from ..tutorial import sandbox_env, sandbox_requested

    settings = load_settings()
    use_sandbox = args.sandbox or sandbox_requested(settings)
    root = None if args.terminal else _tutorials_root(args)
    env: dict[str, str] = {}
    sandbox = None
    workdir = Path(tempfile.mkdtemp(prefix="spotkit-demo-"))
    try:
        if use_sandbox:
            from ..sandbox import Sandbox

            sandbox = Sandbox(speed=args.speed).start()
            env = {**sandbox_env(sandbox, workdir), "SPOTKIT_SANDBOX_URL": sandbox.base_url}
            print(f"Started the sandbox, an offline Spotify, at {sandbox.base_url}")
        else:
            print("Using the real Spotify (SPOTIFY_CLIENT_ID is configured).")
            env = _settings_env(settings)
        if root is None:
            return _terminal(env, stop, use_sandbox)
        if not settings.client_id:
            print(EXPORT_ONLY_HINT)
        return _jupyter(args, root, env, stop, workdir)
    finally:
        if sandbox is not None:
            sandbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _settings_env(settings: Any) -> dict[str, str]:
    """The resolved settings (including what came from ./.env) for child processes."""
    env = {
        "SPOTIFY_CLIENT_ID": settings.client_id or "",
        "SPOTIFY_REDIRECT_URI": settings.redirect_uri,
        "SPOTKIT_CACHE_PATH": str(settings.cache_path),
        "SPOTKIT_ACCOUNTS_URL": settings.accounts_url,
        "SPOTKIT_API_URL": settings.api_url,
        "SPOTKIT_SCOPES": " ".join(settings.scopes),
    }
    if settings.client_secret:
        env["SPOTIFY_CLIENT_SECRET"] = settings.client_secret
    return env


# --- JupyterLab ----------------------------------------------------------------------------------


#: what `spotkit demo` says when no Spotify app is configured
EXPORT_ONLY_HINT = ("No Spotify app yet? 04-your-data-export.ipynb works with Spotify's data export "
                    "alone, no login needed (as does `spotkit history import`).")
#: the folder that `spotkit demo` copies the tutorials into, outside a clone
TUTORIALS_FOLDER = "spotkit-tutorials"
# JupyterLab settings for a newcomer: no "Would you like to receive official Jupyter news?" prompt
# and no "a newer version is available" toast on a first start
_LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                 {"fetchNews": "false", "checkForUpdates": False}}


def _tutorials_root(args: argparse.Namespace) -> Path:
    """The folder JupyterLab opens: --notebooks, a clone's notebooks/, or a fresh copy in ./spotkit-tutorials.

    Raises:
        ConfigError: --notebooks is not a folder; JupyterLab is not installed.
    """
    from ..tutorial_files import clone_notebooks, copy_tutorials, packaged_tutorials

    if importlib.util.find_spec("jupyterlab") is None:
        raise ConfigError('JupyterLab is not installed: pip install "spotkit[notebook]" '
                          "(or try `spotkit demo --terminal`).")
    if args.notebooks is not None:
        if not args.notebooks.is_dir():
            raise ConfigError(f"{args.notebooks} is not a folder: pass --notebooks DIR with "
                              "the tutorial notebooks in it.")
        return Path(args.notebooks).resolve()
    clone = clone_notebooks()
    if clone is not None:
        return clone
    folder = Path.cwd() / TUTORIALS_FOLDER
    for line in copy_tutorials(packaged_tutorials(), folder, fresh=args.fresh).lines():
        print(line)
    return folder


def _lab_settings(workdir: Path) -> Path:
    """A JupyterLab user-settings folder for this demo (the user's own settings stay untouched)."""
    import json

    settings_dir = workdir / "lab-settings"
    for name, values in _LAB_SETTINGS.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    return settings_dir


def _jupyter(args: argparse.Namespace, root: Path, env: dict[str, str], stop: threading.Event,
             workdir: Path) -> int:
    import secrets

    from ..tutorial_files import tutorial_names

    token = secrets.token_hex(16)  # JupyterLab's own access token, not a Spotify one
    cmd = [sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", f"--port={args.port}",
           "--port-retries=20", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
           "--ServerApp.open_browser=False", f"--LabApp.user_settings_dir={_lab_settings(workdir)}",
           f"--LabApp.workspaces_dir={workdir / 'lab-workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    child_env = {**os.environ, **env}
    proc = subprocess.Popen(cmd, env=child_env, stdout=subprocess.DEVNULL,  # noqa: S603
                            stderr=subprocess.PIPE, text=True)
    try:
        names = tutorial_names(root)
        url = _wait_for_jupyter(proc, token, stop, names[0] if names else None)
        if url is None:
            if proc.poll() is not None:
                err = (proc.stderr.read() if proc.stderr else "")[-2000:]
                raise SpotkitError(f"JupyterLab did not start (exit {proc.returncode}).\n{err}")
            return 0
        print(f"JupyterLab is running the tutorials. Open this address in your browser:\n\n    {url}\n")
        print("Press Ctrl-C to stop.")
        if not args.no_browser:
            from .._runtime import open_in_browser

            open_in_browser(url)
        while not stop.wait(0.5):
            if proc.poll() is not None:
                raise SpotkitError(f"JupyterLab stopped (exit {proc.returncode}).")
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print("Stopped.")


def _wait_for_jupyter(proc: subprocess.Popen[str], token: str, stop: threading.Event,
                      first: str | None) -> str | None:
    """JupyterLab's address once it answers (it may have moved to a later port), opening `first`;
    else None."""
    assert proc.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
    reader.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not stop.is_set() and proc.poll() is None:
        for line in list(lines):
            if "http://127.0.0.1:" in line and "/lab" in line:
                base = line[line.index("http://127.0.0.1:"):].split()[0].split("/lab")[0]
                try:
                    urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)  # noqa: S310
                except OSError:
                    break
                tree = f"/tree/{urllib.parse.quote(first)}" if first else ""
                return f"{base}/lab{tree}?token={token}"
        time.sleep(0.2)
    return None


# --- the terminal ---------------------------------------------------------------------------------


def _terminal(env: dict[str, str], stop: threading.Event, use_sandbox: bool) -> int:
    os.environ.update(env)
    from ..client import Spotify
    from ..widgets.poller import NowPlayingPoller
    from ..widgets.scheduler import PollPolicy, PollScheduler

    settings = load_settings()
    speed = 1.0
    if use_sandbox:
        from ..tutorial import quickstart

        speed = quickstart(sandbox=True).speed
    else:
        _ensure_login(settings)

    width = shutil.get_terminal_size((80, 20)).columns - 1
    lock = threading.Lock()

    def show(view: PlayerView) -> None:
        line = _status_line(view)
        with lock:
            sys.stdout.write("\r" + line[:width].ljust(width))
            sys.stdout.flush()

    client = Spotify(settings)
    scheduler = PollScheduler(PollPolicy(time_scale=speed))
    poller = NowPlayingPoller(client, on_update=show, control=False, scheduler=scheduler)
    print("Now playing (Ctrl-C to stop):")
    poller.start()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        poller.stop()
        client.close()
        print()
    return 0


def _ensure_login(settings: Any) -> None:
    from ..auth.login import login
    from ..auth.tokens import TokenManager
    from ..errors import LoginRequired

    try:
        TokenManager(settings).token()
    except LoginRequired:
        login(settings)


def _status_line(view: PlayerView) -> str:
    from ..records import now_playing_line

    if view.status and view.status_kind != "info":
        return view.status
    record = view.record
    if record is None:
        return "Nothing is playing" if view.loaded else "Connecting..."
    line = now_playing_line(record)
    total, pos = record.get("duration_ms"), view.position_ms
    if isinstance(total, int) and isinstance(pos, int):
        line += f"  {_mmss(pos)} / {_mmss(total)}"
    return line


def _mmss(ms: int) -> str:
    s = max(ms, 0) // 1000
    return f"{s // 60}:{s % 60:02d}"
