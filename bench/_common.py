"""Helpers shared by the benchmark scripts: the sandbox subprocess, tokens, caches, timing,
medians and a description of the machine.

The sandbox always runs in its own process (`python -m spotkit sandbox`): a server in the
measuring process would compete for the GIL with the clients being measured.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import requests

REFRESHES = "POST /api/token grant_type=refresh_token"
NOW_PLAYING_PATH = "/me/player/currently-playing"
NOW_PLAYING_QUERY = "additional_types=track,episode"
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PREFIXES = ("SPOTIFY_", "SPOTKIT_", "SPOTIPY_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any Spotify / spotkit / spotipy settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    env.update(extra or {})
    return env


class SandboxProcess:
    """`python -m spotkit sandbox` on a free loopback port, driven through its admin API."""

    def __init__(self, speed: float = 1.0, *, start_timeout: float = 30.0,
                 extra_args: Sequence[str] = ()) -> None:
        self.speed = speed
        self.port = free_port()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spotkit", "sandbox", "--port", str(self.port), "--speed",
             str(speed), *extra_args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._stderr, env=clean_env(), cwd=tempfile.gettempdir())
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                self.info = self.state()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self._stderr.seek(0)
                    why = self._stderr.read().decode(errors="replace")[-2000:]
                    self.close()
                    raise RuntimeError(f"the sandbox did not start: {why}") from None
                time.sleep(0.05)
        self.api_url: str = self.info["api_url"]
        self.accounts_url: str = self.info["accounts_url"]
        self.client_id: str = self.info["client_id"]
        self.client_secret: str = self.info["client_secret"]
        self.redirect_uri: str = self.info["redirect_uris"][0]
        self.user_id: str = self.info["user"]["id"]

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def env(self) -> dict[str, str]:
        """What spotkit reads to talk to this sandbox (PKCE: no secret)."""
        return {"SPOTIFY_CLIENT_ID": self.client_id, "SPOTIFY_REDIRECT_URI": self.redirect_uri,
                "SPOTKIT_API_URL": self.api_url, "SPOTKIT_ACCOUNTS_URL": self.accounts_url}

    def get(self, path: str) -> Any:
        resp = self.http.get(self.base_url + path, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        resp = self.http.post(self.base_url + path, json=dict(body or {}), timeout=10)
        resp.raise_for_status()
        return resp.json()

    def state(self) -> dict[str, Any]:
        return dict(self.get("/_sandbox/state"))

    def mint_token(self) -> dict[str, Any]:
        """A token answer (access + refresh token, every scope) as if the user had logged in."""
        return dict(self.post("/_sandbox/tokens"))

    def expire_tokens(self) -> None:
        self.post("/_sandbox/tokens/expire")

    def counts(self) -> dict[str, int]:
        return dict(self.get("/_sandbox/counts"))

    def reset_log(self) -> None:
        self.post("/_sandbox/reset-log")

    def play(self, uri: str | None = None) -> None:
        """Make sure something plays (the first track of the queue unless `uri` is given)."""
        if uri is None:
            uri = self.state()["player"]["queue"][0]
        self.post("/_sandbox/player", {"uri": uri, "is_playing": True, "progress_ms": 0})

    def wall_of(self) -> Callable[[int], float]:
        """Sandbox ms -> this machine's wall time (time.time()), from one state read."""
        before = time.time()
        now_ms = int(self.state()["now_ms"])
        after = time.time()
        anchor = (before + after) / 2
        return lambda ms: anchor + (ms - now_ms) / 1000.0 / self.speed

    def close(self) -> None:
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._stderr.close()


def seed_spotkit_cache(path: Path, sb: SandboxProcess, answer: Mapping[str, Any], *,
                       expired: bool = False) -> None:
    """Write `answer` into a spotkit token cache at `path`, as `spotkit login` would."""
    from spotkit.auth.cache import TokenCache
    from spotkit.auth.token import Token

    token = Token.from_response(answer)
    if expired:
        token = dataclasses.replace(token, expires_at=time.time() - 5)
    TokenCache(path).save(sb.client_id, sb.user_id, token)


def spotipy_token_info(answer: Mapping[str, Any], *, expired: bool = False) -> dict[str, Any]:
    """The token_info dict spotipy's CacheFileHandler stores (the answer plus `expires_at`)."""
    info = dict(answer)
    info["expires_at"] = int(time.time()) + (-5 if expired else int(answer["expires_in"]))
    return info


def seed_spotipy_cache(path: Path, answer: Mapping[str, Any], *, expired: bool = False) -> None:
    path.write_text(json.dumps(spotipy_token_info(answer, expired=expired)))
    path.chmod(0o600)


def timed(call: Callable[[], Any], n: int, out: list[float], cpu: list[float]) -> None:
    """Wall time of each of `n` calls into `out` (ms); this process's CPU time of the batch into
    `cpu` (s)."""
    clock = time.perf_counter_ns
    cpu_start = time.process_time()
    for _ in range(n):
        start = clock()
        call()
        out.append((clock() - start) / 1e6)
    cpu.append(time.process_time() - cpu_start)


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """Median, p10, p90 and mean of samples already in milliseconds."""
    ordered = sorted(samples)
    n = len(ordered)
    return {"median_ms": statistics.median(ordered), "p10_ms": ordered[n // 10],
            "p90_ms": ordered[min(n - 1, n * 9 // 10)], "mean_ms": statistics.fmean(ordered),
            "n": n}


def run_json(cmd: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
             cwd: str | os.PathLike[str] | None = None) -> Any:
    """Run `cmd`, return the JSON document it prints last on stdout; RuntimeError on failure."""
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=None if env is None else dict(env),
                              cwd=cwd, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{Path(cmd[1]).name if len(cmd) > 1 else cmd[0]} timed out after "
                           f"{timeout:g} s") from exc
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()[-1500:]}")
    text = done.stdout.strip()
    start = text.find("{")
    if start < 0:
        raise RuntimeError(f"no JSON on stdout: {text[-500:]!r}")
    return json.loads(text[start:])


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    try:
        cpus = len(os.sched_getaffinity(0))  # what `nproc` prints
    except AttributeError:
        cpus = os.cpu_count() or 0
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": cpus,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_average_at_start": load,
        "versions": {d: _version(d) for d in ("spotkit", "requests", "urllib3", "spotipy",
                                              "tekore", "httpx", "pandas")},
    }
