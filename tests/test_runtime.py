"""Remote-kernel detection, the browser decision and the exit hook of the widgets' threads."""

from __future__ import annotations

import gc
import sys
import threading
from typing import Any

import pytest

from spotkit import _runtime


@pytest.mark.parametrize(("env", "modules", "reason"), [
    ({}, {}, None),
    ({"JUPYTERHUB_SERVICE_PREFIX": "/user/ana/"}, {}, "JupyterHub"),
    ({"JUPYTERHUB_API_TOKEN": "x"}, {}, "JupyterHub"),
    ({}, {"google.colab": object()}, "Google Colab"),
    ({"COLAB_RELEASE_TAG": "release-colab_2026"}, {}, "Google Colab"),
    ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, {}, "Kaggle"),
    ({"BINDER_SERVICE_HOST": "10.0.0.1"}, {}, "Binder"),
    ({"CODESPACES": "true"}, {}, "GitHub Codespaces"),
    ({"SSH_CONNECTION": "10.0.0.2 5000 10.0.0.1 22"}, {}, "an SSH session"),
    ({"SSH_CONNECTION": "10.0.0.2 5000 10.0.0.1 22", "DISPLAY": ":0"}, {}, None),  # ssh -X
])
def test_remote_reason(env: dict[str, str], modules: dict[str, Any], reason: str | None) -> None:
    assert _runtime.remote_reason(env, modules) == reason


def test_remote_reason_reads_the_real_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    assert _runtime.remote_reason() == "JupyterHub"


@pytest.mark.parametrize(("env", "platform", "expected"), [
    ({}, "linux", False),                  # a server or a container: no text browser in the kernel
    ({"DISPLAY": ":0"}, "linux", True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
    ({"BROWSER": "wslview"}, "linux", True),
    ({}, "darwin", True),
    ({}, "win32", True),
])
def test_can_open_browser(env: dict[str, str], platform: str, expected: bool) -> None:
    assert _runtime.can_open_browser(env, platform) is expected


def test_open_in_browser_runs_in_a_daemon_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []
    gate = threading.Event()

    def fake_open(url: str, new: int = 0) -> bool:
        gate.wait(2)  # a slow browser start does not hold up the caller
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    thread = _runtime.open_in_browser("http://127.0.0.1:1/authorize", force=True)
    assert thread is not None
    assert thread.daemon
    assert not opened
    gate.set()
    thread.join(2)
    assert opened == ["http://127.0.0.1:1/authorize"]


def test_no_browser_here_opens_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import webbrowser

    opened: list[str] = []  # recorded, not failed in place: the opener runs in a thread
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url))
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    assert _runtime.open_in_browser("http://127.0.0.1:1/") is None
    for thread in threading.enumerate():
        if thread.name == "spotkit-open-browser":
            thread.join(2)
    assert opened == []


def test_a_broken_browser_is_ignored(monkeypatch: pytest.MonkeyPatch,
                                     thread_errors: list[BaseException]) -> None:
    import webbrowser

    tried: list[str] = []

    def broken(url: str, new: int = 0) -> bool:
        tried.append(url)
        raise webbrowser.Error("no runnable browser")

    monkeypatch.setattr(webbrowser, "open", broken)
    thread = _runtime.open_in_browser("http://x", force=True)
    assert thread is not None
    thread.join(2)
    assert not thread.is_alive()
    assert tried == ["http://x"]  # the broken browser was really tried...
    assert thread_errors == []    # ...and its error ended nothing (pytest alone would only warn)


class Owner:
    def __init__(self) -> None:
        self.stopped: list[float | None] = []

    def stop(self, timeout: float | None = None) -> None:
        self.stopped.append(timeout)


def test_owners_are_stopped_at_exit_and_not_kept_alive() -> None:
    kept, dropped = Owner(), Owner()
    _runtime.stop_at_exit(kept)
    _runtime.stop_at_exit(dropped)
    del dropped
    gc.collect()
    assert kept in list(_runtime._owners)
    assert len([o for o in _runtime._owners if isinstance(o, Owner)]) == 1
    _runtime._stop_all()
    assert kept.stopped == [0.5]


def test_one_failing_owner_does_not_stop_the_others_from_stopping() -> None:
    class Broken:
        def stop(self, timeout: float | None = None) -> None:
            raise RuntimeError("boom")

    broken, fine = Broken(), Owner()
    _runtime.stop_at_exit(broken)
    _runtime.stop_at_exit(fine)
    _runtime._stop_all()
    assert fine.stopped


def test_the_exit_hook_is_installed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import atexit

    calls: list[Any] = []
    monkeypatch.setattr(_runtime, "_hook_installed", False)
    monkeypatch.setattr(atexit, "register", calls.append)
    for _ in range(3):
        _runtime.stop_at_exit(Owner())
    assert calls == [_runtime._stop_all]


def test_importing_the_timing_rules_does_not_import_ipywidgets() -> None:
    import subprocess

    code = ("import sys, spotkit.widgets.scheduler, spotkit.widgets.poller, spotkit.widgets; "
            "print('ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
