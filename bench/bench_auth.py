"""Figures for spotkit's login and token handling, measured against the sandbox on loopback.

    .venv/bin/python bench/bench_auth.py [--rounds 5] [--trials 200] [--logins 30]

1. single flight: refresh requests the sandbox receives when 16 threads in each of 4 processes find
   the same expired token (expected: exactly 1 per round);
2. crash safety: a writer SIGKILLed at a random moment while saving the token, many times; how
   often it died mid-write, how many cache files were left unreadable or incomplete (expected: 0)
   and how many temporary files were left at most;
3. login latency: from the callback reaching the listener to the token being cached (code
   exchange + GET /me + atomic write), and as the browser sees it (callback request sent to the
   "You are logged in" page received). Median and p90 over N logins.

A script, not a test: it prints its figures and exits 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from spotkit.auth.cache import TokenCache
from spotkit.auth.login import LoginFlow
from spotkit.auth.token import Token
from spotkit.config import Settings, load_settings
from spotkit.sandbox import Sandbox

REFRESHES = "POST /api/token grant_type=refresh_token"

_WORKER = textwrap.dedent("""
    import json, sys, threading
    from spotkit.auth.tokens import TokenManager
    from spotkit.config import load_settings
    manager = TokenManager(load_settings(dotenv=False))
    barrier = threading.Barrier(16)
    got = []
    def work():
        barrier.wait(30)
        try:
            got.append(manager.access_token())
        except Exception as exc:
            got.append(type(exc).__name__)
    print("ready", flush=True)
    sys.stdin.readline()
    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print(json.dumps(got), flush=True)
""")

_SPAWNER = textwrap.dedent("""
    import os, sys, time
    from spotkit.auth.cache import TokenCache
    from spotkit.auth.token import Token
    scope = tuple(f"scope-{i}" for i in range(40))
    for line in sys.stdin:
        if line.strip() == "kill":
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            print("killed", flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            cache = TokenCache(sys.argv[1])
            n = 0
            try:
                while True:
                    n += 1
                    cache.save("cid", "alice",
                               Token(f"access-{n}", f"refresh-{n}", scope, time.time() + 3600))
            finally:
                os._exit(0)
        print(pid, flush=True)
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sandbox_settings(sb: Sandbox, cache: Path) -> Settings:
    env = {**sb.env, "SPOTKIT_CACHE_PATH": str(cache),
           "SPOTIFY_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback"}
    return load_settings(env=env, dotenv=False)


def bench_single_flight(rounds: int) -> list[int]:
    counts = []
    for _ in range(rounds):
        with Sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
            cache_path = Path(tmp) / "tokens.json"
            token = dataclasses.replace(Token.from_response(sb.issue_token()),
                                        expires_at=time.time() - 5)
            TokenCache(cache_path).save(sb.client_id, sb.user["id"], token)
            sb.expire_access_tokens()
            sb.reset_log()
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("SPOTIFY_", "SPOTKIT_"))}
            env.update(sb.env, SPOTKIT_CACHE_PATH=str(cache_path))
            procs = [subprocess.Popen([sys.executable, "-c", _WORKER], env=env, cwd=tmp,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                     for _ in range(4)]
            for p in procs:
                assert p.stdout is not None
                p.stdout.readline()
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            got: list[str] = []
            for p in procs:
                out, _ = p.communicate(timeout=120)
                got += json.loads(out.strip().splitlines()[-1])
            if len(set(got)) != 1 or len(got) != 64:
                print(f"  round failed: {len(got)} answers, {len(set(got))} distinct")
            counts.append(sb.counts().get(REFRESHES, 0))
    return counts


def bench_sigkill(trials: int) -> tuple[int, int, int]:
    """(killed mid-write, bad files, most temp files seen at once)."""
    rng = random.Random(7)
    mid_write = bad = most = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tokens.json"
        cache = TokenCache(path)
        cache.save("cid", "alice", Token("access-0", "refresh-0", (), time.time() + 3600))
        spawner = subprocess.Popen([sys.executable, "-c", _SPAWNER, str(path)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert spawner.stdin is not None
        assert spawner.stdout is not None
        try:
            for _ in range(trials):
                spawner.stdin.write("spawn\n")
                spawner.stdin.flush()
                spawner.stdout.readline()
                time.sleep(rng.uniform(0.002, 0.03))
                spawner.stdin.write("kill\n")
                spawner.stdin.flush()
                spawner.stdout.readline()
                try:
                    token = cache.load("cid")
                    ok = (token is not None and token.refresh_token
                          == token.access_token.replace("access", "refresh")
                          and (path.stat().st_mode & 0o777) == 0o600)
                except Exception:
                    ok = False
                bad += not ok
                leftovers = len(list(Path(tmp).glob(".tokens.json.*.tmp")))
                mid_write += leftovers > 0
                most = max(most, leftovers)
        finally:
            spawner.stdin.close()
            spawner.wait(timeout=10)
    return mid_write, bad, most


def play_browser(session: requests.Session, url: str) -> str:
    response = session.get(url, allow_redirects=False, timeout=10)
    if response.status_code == 200:
        fields = {html.unescape(k): html.unescape(v) for k, v in re.findall(
            r'<input type="hidden" name="([^"]*)" value="([^"]*)">', response.text)}
        base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
        response = session.post(f"{base}/authorize/decision",
                                data={**fields, "decision": "agree"},
                                allow_redirects=False, timeout=10)
    return str(response.headers["Location"])


def bench_login(logins: int) -> tuple[list[float], list[float]]:
    inside, seen = [], []
    with Sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        session = requests.Session()
        for _ in range(logins):
            settings = sandbox_settings(sb, Path(tmp) / "tokens.json")
            flow = LoginFlow(settings).start(timeout=30)
            callback = play_browser(session, flow.authorize_url)
            started = time.perf_counter()
            page = requests.get(callback, timeout=30)
            seen.append(time.perf_counter() - started)
            flow.wait(30)
            if "You are logged in" not in page.text:
                print("  a login failed:", page.status_code)
            inside.append(flow.timings["total"])
    return inside, seen


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="16x4 refresh rounds")
    parser.add_argument("--trials", type=int, default=200, help="SIGKILL trials")
    parser.add_argument("--logins", type=int, default=30, help="logins timed")
    args = parser.parse_args()

    print(f"spotkit auth bench (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    counts = bench_single_flight(args.rounds)
    print(f"refresh requests, 16 threads x 4 processes, expired token: {counts} "
          f"({args.rounds} rounds; expected 1 each)")
    mid, bad, most = bench_sigkill(args.trials)
    print(f"SIGKILL while writing the cache: {args.trials} trials, {mid} killed mid-write, "
          f"{bad} corrupt or incomplete files, at most {most} temp file(s) left "
          "(removed by the next write)")
    inside, seen = bench_login(args.logins)
    print(f"callback -> token cached (exchange + /me + atomic write), {args.logins} logins: "
          f"{ms(inside)}")
    print(f"callback request -> 'You are logged in' page, as the browser sees it: {ms(seen)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
