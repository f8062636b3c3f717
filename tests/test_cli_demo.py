"""`spotkit demo`, the main job: the sandbox plus JupyterLab, or a now-playing line in a terminal."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spotkit.config import ENV_KEYS

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path) -> dict[str, str]:
    # without PYTHONUNBUFFERED too, as in CI: what the demo prints must reach a pipe line by line
    env = {k: v for k, v in os.environ.items()
           if k not in ENV_KEYS and not k.startswith("SPOTKIT_") and k != "PYTHONUNBUFFERED"}
    return {**env, "HOME": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"),
            "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"), "IPYTHONDIR": str(tmp_path / "ipython")}


def test_terminal_demo_runs_on_the_sandbox_without_credentials(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "spotkit", "demo", "--terminal", "--speed", "120", "--duration", "6"],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, timeout=60)
    stdout, stderr = out.stdout.decode(), out.stderr.decode()
    assert out.returncode == 0, stderr
    assert "Started the sandbox, an offline Spotify, at http://127.0.0.1:" in stdout
    assert "\r" in stdout  # one line, rewritten in place
    lines = [line.strip() for line in re.split(r"[\r\n]", stdout) if line.strip()]
    tracks = {m.group(1) for line in lines if (m := re.match(r"Currently playing track: (.+?) by ", line))}
    assert len(tracks) >= 2, lines[-5:]  # at 120x a track ends within the run and the line follows
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_jupyter_demo_serves_the_tutorials_until_sigterm(tmp_path: Path) -> None:
    import signal
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "spotkit", "demo", "--no-browser", "--port", str(port), "--duration", "90"],
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)  # its own process group: JupyterLab is a grandchild of this test
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if m := re.search(r"(http://127\.0\.0\.1:\d+)/lab/tree/01-login\.ipynb\?token=([0-9a-f]{32})",
                              line):
                break
        else:
            pytest.fail("".join(seen) + (proc.stderr.read() if proc.stderr else ""))
        assert any("Started the sandbox" in line for line in seen)
        assert any("04-your-data-export.ipynb works with Spotify's data export alone" in line
                   for line in seen)
        # JupyterLab answers with its token and serves the tutorials
        base, token = m.groups()
        with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=10) as resp:
            names = {item["name"] for item in json.load(resp)["content"]}
        assert "01-login.ipynb" in names
        # a newcomer is not asked about Jupyter news (and the user's own settings are left alone)
        setting = "@jupyterlab/apputils-extension:notification"
        with urllib.request.urlopen(f"{base}/lab/api/settings/{setting}?token={token}", timeout=10) as resp:
            assert json.load(resp)["settings"]["fetchNews"] == "false"
        assert not (tmp_path / ".jupyter").exists()
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err[-3000:]
        assert rest.rstrip().endswith("Stopped.")
        with pytest.raises(ProcessLookupError):  # JupyterLab went with it
            os.killpg(proc.pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_demo_without_notebooks_says_what_to_do(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "spotkit", "demo", "--no-browser", "--notebooks", str(tmp_path / "nope")],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "pass --notebooks DIR" in out.stderr
    assert "Traceback" not in out.stderr


def _demo_args(**overrides: object) -> argparse.Namespace:
    from spotkit.cli import build_parser

    args = build_parser().parse_args(["demo", "--no-browser"])
    vars(args).update(overrides)
    return args


def test_outside_a_clone_the_tutorials_are_copied_into_the_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from spotkit import tutorial_files
    from spotkit.cli import demo

    monkeypatch.setattr(tutorial_files, "clone_notebooks", lambda: None)  # as from a wheel
    monkeypatch.setattr(tutorial_files, "packaged_tutorials", lambda: ROOT / "notebooks")
    monkeypatch.chdir(tmp_path)
    root = demo._tutorials_root(_demo_args())
    assert root == tmp_path / "spotkit-tutorials"
    assert (root / "01-login.ipynb").read_bytes() == (ROOT / "notebooks" / "01-login.ipynb").read_bytes()
    assert "Copied " in capsys.readouterr().out
    (root / "01-login.ipynb").write_text("{}")
    demo._tutorials_root(_demo_args())
    assert (root / "01-login.ipynb").read_text() == "{}"
    assert "Kept your changed 01-login.ipynb" in capsys.readouterr().out
    demo._tutorials_root(_demo_args(fresh=True))
    assert (root / "01-login.ipynb").read_bytes() == (ROOT / "notebooks" / "01-login.ipynb").read_bytes()


def test_without_jupyterlab_the_demo_says_how_to_install_it(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from spotkit.cli import demo
    from spotkit.errors import ConfigError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "jupyterlab" else real(name, *a))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=re.escape('pip install "spotkit[notebook]"')):
        demo._tutorials_root(_demo_args())
    assert not (tmp_path / "spotkit-tutorials").exists()
