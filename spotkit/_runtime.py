"""Where spotkit runs, and the thread plumbing that auth, the widgets and the history share.

* :func:`remote_reason`: is the kernel on another machine than the user's browser (JupyterHub,
  Colab, Binder, an SSH session without a display...)? Then a redirect to 127.0.0.1 reaches the
  user's machine, not the kernel's.
* :func:`can_open_browser` and :func:`open_in_browser`: whether `webbrowser.open` would show a page
  to the user (on Linux without a display it would start a text browser inside the kernel, so we
  don't), and opening one without holding up the caller.
* :func:`start_daemon` and :func:`stop_at_exit`: background threads are daemons with one owner,
  and every owner still running at interpreter exit is asked to stop.
* :func:`close_widget_tree`: closing an ipywidgets tree (it needs no ipywidgets import).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .logs import logger

__all__ = [
    "Stoppable",
    "can_open_browser",
    "close_widget_tree",
    "forget_at_exit",
    "open_in_browser",
    "remote_reason",
    "start_daemon",
    "stop_at_exit",
]


def remote_reason(environ: Mapping[str, str] | None = None,
                  modules: Mapping[str, Any] | None = None) -> str | None:
    """A short name for the remote setup the kernel runs in, or None when it looks local."""
    env = os.environ if environ is None else environ
    mods = sys.modules if modules is None else modules
    if env.get("JUPYTERHUB_SERVICE_PREFIX") or env.get("JUPYTERHUB_API_TOKEN") \
            or env.get("JUPYTERHUB_USER"):
        return "JupyterHub"
    if "google.colab" in mods or env.get("COLAB_RELEASE_TAG") or env.get("COLAB_GPU") is not None:
        return "Google Colab"
    if env.get("KAGGLE_KERNEL_RUN_TYPE") or env.get("KAGGLE_URL_BASE"):
        return "Kaggle"
    if env.get("BINDER_SERVICE_HOST") or env.get("BINDER_REQUEST") or env.get("BINDER_LAUNCH_HOST"):
        return "Binder"
    if env.get("CODESPACES") == "true":
        return "GitHub Codespaces"
    if env.get("SAGEMAKER_INTERNAL_IMAGE_URI") or env.get("SM_CURRENT_HOST"):
        return "Amazon SageMaker"
    if (env.get("SSH_CONNECTION") or env.get("SSH_CLIENT")) and not _has_display(env):
        return "an SSH session"
    return None


def _has_display(env: Mapping[str, str]) -> bool:
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def can_open_browser(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """True when `webbrowser.open` would open a window the user sees.

    On Linux and the BSDs that needs a display; without one, `webbrowser` falls back to a console
    browser (lynx, w3m) that would take over the kernel's terminal.
    """
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return _has_display(env) or bool(env.get("BROWSER"))
    return True


def open_in_browser(url: str, *, force: bool = False) -> threading.Thread | None:
    """Open `url` in the user's browser from a daemon thread (some browsers take seconds to start).

    Returns the thread, or None when :func:`can_open_browser` says there is no browser to show the
    page (unless `force`). Never raises: a broken browser setting is logged at debug level.
    """
    if not force and not can_open_browser():
        return None

    def run() -> None:
        import webbrowser

        try:
            webbrowser.open(url, new=2)
        except Exception as exc:  # a broken browser setting must not end anything
            logger.debug("could not open a browser: %s", type(exc).__name__)

    return start_daemon(run, "spotkit-open-browser")


def close_widget_tree(widget: Any) -> None:
    """Close an ipywidgets widget, its children, layouts and styles (`close()` does only itself)."""
    for child in getattr(widget, "children", ()) or ():
        close_widget_tree(child)
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if part is not None and hasattr(part, "close"):
            part.close()
    widget.close()


def start_daemon(target: Callable[[], object], name: str) -> threading.Thread:
    """Start `target` in a daemon thread (it never keeps the interpreter alive)."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


class Stoppable(Protocol):
    """Something that owns a background thread and ends it on `stop()`."""

    def stop(self, timeout: float = ...) -> None: ...


_owners: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_owners_lock = threading.Lock()
_hook_installed = False


def stop_at_exit(owner: Stoppable, timeout: float = 0.5) -> None:
    """Call `owner.stop(timeout=timeout)` at interpreter exit (kernel shutdown) unless it is gone.

    Only a weak reference is kept: registering does not keep `owner` alive. Registering again
    only updates the timeout.
    """
    global _hook_installed
    with _owners_lock:
        _owners[owner] = timeout
        if not _hook_installed:
            atexit.register(_stop_all)
            _hook_installed = True


def forget_at_exit(owner: Stoppable) -> None:
    """Undo :func:`stop_at_exit` (the owner stopped by itself)."""
    with _owners_lock:
        _owners.pop(owner, None)


def _stop_all() -> None:
    with _owners_lock:
        owners = list(_owners.items())
    for owner, timeout in owners:
        try:
            owner.stop(timeout=timeout)
        except Exception as exc:  # exit must go on whatever one owner does
            logger.debug("stopping %r at exit failed: %s", owner, type(exc).__name__)
