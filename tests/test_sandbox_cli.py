"""`spotkit sandbox`: runs in the foreground, prints the env lines to paste, stops cleanly."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests


def start(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "SPOTKIT_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen([sys.executable, "-m", "spotkit", "sandbox", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def read_env(proc: subprocess.Popen[str]) -> dict[str, str]:
    assert proc.stdout is not None
    env: dict[str, str] = {}
    for line in proc.stdout:
        if line.startswith("export "):
            name, _, value = line[len("export "):].strip().partition("=")
            env[name] = shlex.split(value)[0]
        if line.startswith("Admin API"):
            return env
    raise AssertionError(f"no env lines; stderr: {proc.stderr.read() if proc.stderr else ''}")


@pytest.fixture
def proc() -> Iterator[subprocess.Popen[str]]:
    p = start("--port", "0", "--speed", "60")
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)
        for stream in (p.stdout, p.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_env_lines_and_stops_on_signal(proc: subprocess.Popen[str], sig: int) -> None:
    env = read_env(proc)
    assert set(env) == {"SPOTIFY_CLIENT_ID", "SPOTIFY_REDIRECT_URI", "SPOTKIT_ACCOUNTS_URL",
                        "SPOTKIT_API_URL"}
    assert env["SPOTIFY_REDIRECT_URI"] == "http://127.0.0.1:8888/callback"
    assert env["SPOTKIT_API_URL"] == env["SPOTKIT_ACCOUNTS_URL"] + "/v1"
    state = requests.get(env["SPOTKIT_ACCOUNTS_URL"] + "/_sandbox/state", timeout=5).json()
    assert state["client_id"] == env["SPOTIFY_CLIENT_ID"]
    assert state["speed"] == 60
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Sandbox stopped." in out
    assert "Traceback" not in err
    assert state["client_secret"] not in out + err
    with pytest.raises(requests.ConnectionError):
        requests.get(env["SPOTKIT_ACCOUNTS_URL"] + "/", timeout=2)


def test_port_in_use_is_a_clean_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = start("--port", str(port))
        _, err = p.communicate(timeout=30)
    assert p.returncode == 1
    assert f"cannot listen on port {port}" in err
    assert "Traceback" not in err


def test_only_loopback_hosts() -> None:
    p = start("--host-only", "0.0.0.0")
    _, err = p.communicate(timeout=30)
    assert p.returncode == 2
    assert "invalid choice" in err
