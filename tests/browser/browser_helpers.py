"""Helpers of the browser tests: the JupyterLab handle and ways to drive a notebook page."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str
    token: str
    root: Path
    cache_path: Path
    redirect_uri: str
    log_path: Path

    def notebook_url(self, name: str) -> str:
        # `reset`: a fresh workspace, so that notebooks of earlier tests are not reopened
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def api(self, method: str, path: str) -> Any:
        resp = requests.request(method, f"{self.url}/api/{path}",
                                headers={"Authorization": f"token {self.token}"}, timeout=10)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (their now-playing threads end with them)."""
        for kernel in self.api("GET", "kernels"):
            with contextlib.suppress(requests.RequestException):
                self.api("DELETE", f"kernels/{kernel['id']}")

    def write_notebook(self, name: str, cells: list[str]) -> None:
        """A notebook file in the server's root (written at test time: nbval must not find it)."""
        notebook = {
            "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}",
                       "metadata": {}, "outputs": [], "source": source}
                      for i, source in enumerate(cells)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5,
        }
        (self.root / name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"



_KERNEL_IDLE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const ctx = panel && panel.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  return !!(kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected');
}"""


def open_notebook(page: Any, lab: Lab, name: str, timeout: float = 60.0) -> None:
    """Open `name` in JupyterLab and wait for its kernel to be idle."""
    page.goto(lab.notebook_url(name))
    page.wait_for_selector(".jp-Notebook", timeout=timeout * 1000)
    page.wait_for_function(_KERNEL_IDLE, timeout=timeout * 1000)


def run_all_cells(page: Any) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.05) -> Any:
    """Poll `predicate` until it is truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
