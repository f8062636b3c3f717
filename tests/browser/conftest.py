"""Fixtures for the browser tests: the sandbox (in this process), JupyterLab and its kernels
(subprocesses), and headless Chromium driven by Playwright.

The tests need Debian's chromium at /usr/bin/chromium (`.ci/run` installs it); without it they are
skipped. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from browser_helpers import Lab

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
LAB_START_TIMEOUT = 60.0

# environment of the developer's shell that would make the kernel think it is remote or leak
# settings into the notebook
_DROP_ENV = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "JUPYTERHUB_SERVICE_PREFIX",
             "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER", "SPOTIFY_CLIENT_SECRET", "SPOTKIT_SCOPES",
             "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
             "BROWSER", "DISPLAY", "WAYLAND_DISPLAY")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: install Debian's chromium "
                                   "(apt-get install chromium) to run the browser tests")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    from spotkit.sandbox import Sandbox

    with Sandbox(speed=1.0) as sb:
        yield sb


@pytest.fixture(scope="session")
def lab(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("lab")
    home, root = base / "home", base / "root"
    home.mkdir()
    root.mkdir()
    port, token = free_port(), secrets.token_hex(16)
    callback_port = free_port()
    redirect_uri = f"http://127.0.0.1:{callback_port}/callback"
    cache_path = base / "tokens.json"
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env.update(sandbox.env)
    venv_bin = str(Path(sys.executable).parent)
    env.update({
        "HOME": str(home),
        "SPOTIFY_REDIRECT_URI": redirect_uri,
        "SPOTKIT_CACHE_PATH": str(cache_path),
        "SPOTKIT_DATA_DIR": str(base / "data"),  # never the user's spotkit folders
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / ".local" / "share" / "jupyter" / "runtime"),
        "IPYTHONDIR": str(home / ".ipython"),
        "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
        "PYTHONUNBUFFERED": "1",
    })
    # no "get notified about Jupyter news?" toast over the page
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    log_path = base / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
           "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
           f"--ServerApp.root_dir={root}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.news_url=None"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    server = Lab(url, token, root, cache_path, redirect_uri, log_path)
    try:
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                if requests.get(f"{url}/api/status", params={"token": token},
                                timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start in {LAB_START_TIMEOUT:g} s:\n"
                            f"{server.log_tail()}")
            time.sleep(0.25)
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.shutdown_kernels()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(chromium: Any, lab: Lab) -> Iterator[Any]:
    ctx = chromium.new_context(viewport={"width": 1200, "height": 800})
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        ctx.close()
        lab.shutdown_kernels()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """screenshot(page_or_locator, name): a PNG in artifacts/screenshots/ (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(target: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        target.screenshot(path=str(path))
        return path

    return take
