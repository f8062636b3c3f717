"""spotkit beside spotipy, tekore and bare requests: import time, now-playing latency, cold start,
refresh under contention, and a 100,000-play DataFrame beside pandas.json_normalize.

Every part that talks HTTP uses one sandbox subprocess (`python -m spotkit sandbox`), shared by
all the clients; how spotipy and tekore are pointed at it is in bench/_peers.py (their own public
attributes and extension points, nothing patched). bench/run.py runs these parts together with
bench_widget.py and bench_history.py and prints the table; this script runs parts on their own:

    .venv/bin/python bench/bench_peers.py [--part imports|latency|cold|contention|frame ...]
                                          [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
from _common import (
    BENCH_DIR,
    NOW_PLAYING_PATH,
    NOW_PLAYING_QUERY,
    REFRESHES,
    SandboxProcess,
    clean_env,
    run_json,
    seed_spotipy_cache,
    seed_spotkit_cache,
    summary_ms,
    timed,
)

PARTS = ("imports", "latency", "cold", "contention", "frame")
TIMEOUT = (3.05, 10.0)


# --- 1. import time ---------------------------------------------------------------------------

IMPORTS: dict[str, str] = {
    "requests": "import requests",
    "spotkit": "import spotkit",
    "spotkit.client": "from spotkit import now_playing",
    "spotipy": "import spotipy",
    "tekore": "import tekore",
}
_IMPORT_PROBE = ("import time\n_t = time.perf_counter()\n{stmt}\n_t = time.perf_counter() - _t\n"
                 "import sys\nsys.stdout.write(repr(_t))\n")


def import_times(runs: int) -> dict[str, Any]:
    """Milliseconds for each import statement in a fresh interpreter; median of `runs`, interleaved.

    Timed inside the child around the statement alone, so interpreter start-up (the same for
    all) is left out. `from spotkit import now_playing` is what a user pays before the first
    call (`import spotkit` itself loads its public names lazily).
    """
    # Installed packages (requests, spotipy, tekore) have their bytecode compiled at install time;
    # an editable spotkit only gets it on first import, and not at all under
    # PYTHONDONTWRITEBYTECODE. Compile it once so every contender is timed from bytecode.
    import compileall

    import spotkit

    compileall.compile_dir(str(Path(spotkit.__file__).parent), quiet=1)
    samples: dict[str, list[float]] = {name: [] for name in IMPORTS}
    names = list(IMPORTS)
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        env = clean_env({"PYTHONDONTWRITEBYTECODE": "1"})
        for _ in range(runs):
            rng.shuffle(names)
            for name in names:
                out = subprocess.run([sys.executable, "-c",
                                      _IMPORT_PROBE.format(stmt=IMPORTS[name])],
                                     capture_output=True, text=True, env=env, cwd=tmp,
                                     timeout=60, check=True)
                samples[name].append(float(out.stdout) * 1000)
    base = samples["requests"]
    results: dict[str, Any] = {}
    for name, values in samples.items():
        # the statements of one round ran back to back, so their ratio shares that round's load
        ratios = [v / b for v, b in zip(values, base, strict=True)]
        results[name] = {**summary_ms(values), "statement": IMPORTS[name],
                         "paired_ratio_to_requests": statistics.median(ratios),
                         "paired_ratio_ci95": bootstrap_median_ci(ratios)}
    return results


# --- 2. now-playing latency -------------------------------------------------------------------


def _clients(sb: SandboxProcess, tmp: Path) -> tuple[dict[str, Callable[[], Any]], list[Any]]:
    """The now-playing call of each contender, all on the sandbox, all keep-alive."""
    import tekore as tk
    from _peers import spotipy_client, spotipy_pkce, tekore_sender

    from spotkit.auth.tokens import TokenManager
    from spotkit.client import Spotify
    from spotkit.config import load_settings

    answer = sb.mint_token()
    token = answer["access_token"]
    settings = load_settings(env={**sb.env, "SPOTKIT_CACHE_PATH": str(tmp / "spotkit.json")},
                             dotenv=False)
    seed_spotkit_cache(settings.cache_path, sb, answer)
    ours = Spotify(settings, auth=TokenManager(settings))

    bare = requests.Session()  # what a script writes: reads proxies and .netrc on every call
    quiet = requests.Session()  # reads nothing per call, as spotkit's own session
    quiet.trust_env = False
    url = f"{sb.api_url}{NOW_PLAYING_PATH}?{NOW_PLAYING_QUERY}"
    headers = {"Authorization": f"Bearer {token}"}

    spotipy_fast = spotipy_client(sb.api_url, token=token)
    seed_spotipy_cache(tmp / "spotipy.json", answer)
    auth = spotipy_pkce(sb.accounts_url, sb.client_id, sb.redirect_uri,
                        str(tmp / "spotipy.json"), answer["scope"])
    spotipy_cached = spotipy_client(sb.api_url, auth_manager=auth)
    sender = tekore_sender(sb.api_url, sb.accounts_url)
    tekore = tk.Spotify(token, sender=sender)

    calls: dict[str, Callable[[], Any]] = {
        "spotkit": ours.now_playing,
        "bare requests": lambda: bare.get(url, headers=headers, timeout=TIMEOUT).json(),
        "bare requests (trust_env=False)": lambda: quiet.get(url, headers=headers,
                                                             timeout=TIMEOUT).json(),
        "spotipy": lambda: spotipy_fast.currently_playing(additional_types="track,episode"),
        "spotipy + cache file": lambda: spotipy_cached.currently_playing(
            additional_types="track,episode"),
        "tekore": tekore.playback_currently_playing,
    }
    return calls, [ours, bare, quiet, sender]


def _item_uri(name: str, result: Any) -> str | None:
    if name == "spotkit":
        return None if result is None else result.get("item_uri")
    if name == "tekore":
        return None if result is None or result.item is None else result.item.uri
    return None if not result or not result.get("item") else result["item"]["uri"]


def latency(sb: SandboxProcess, calls: int, batch: int = 10, warmup: int = 100) -> dict[str, Any]:
    """Median wall time of one now-playing call per contender, in interleaved batches.

    Each batch runs every contender `batch` times, in an order that rotates from batch to batch,
    so that drifts in the machine's load hit all of them alike.
    """
    sb.play()
    with tempfile.TemporaryDirectory() as folder:
        clients, closers = _clients(sb, Path(folder))
        try:
            names = list(clients)
            seen = {name: _item_uri(name, clients[name]()) for name in names}
            if None in seen.values() or len(set(seen.values())) > 1:
                # a track may end between two calls: ask once more before giving up
                seen = {name: _item_uri(name, clients[name]()) for name in names}
            samples: dict[str, list[float]] = {name: [] for name in names}
            cpu: dict[str, list[float]] = {name: [] for name in names}
            for name in names:
                timed(clients[name], warmup, [], [])
            # per batch: spotkit's median over each contender's median in the same batch
            paired: dict[str, list[float]] = {name: [] for name in names}
            done = 0
            rounds = 0
            while done < calls:
                n = min(batch, calls - done)
                order = names[rounds % len(names):] + names[:rounds % len(names)]
                marks = {name: len(samples[name]) for name in names}
                for name in order:
                    timed(clients[name], n, samples[name], cpu[name])
                ours = statistics.median(samples["spotkit"][marks["spotkit"]:])
                for name in names:
                    paired[name].append(ours / statistics.median(samples[name][marks[name]:]))
                done += n
                rounds += 1
        finally:
            for thing in closers:
                thing.close()
    return {"calls_per_client": calls, "batch": batch, "clients": {
        name: {**summary_ms(samples[name]),
               "client_cpu_ms": sum(cpu[name]) * 1000 / calls,
               "spotkit_paired_ratio": statistics.median(paired[name]),
               "spotkit_paired_ratio_ci95": bootstrap_median_ci(paired[name]),
               "item_uri_seen": seen[name]}
        for name in names}}


def bootstrap_median_ci(values: list[float], rounds: int = 2000) -> tuple[float, float]:
    """A 95% bootstrap interval for the median of `values` (how much of a ratio is noise)."""
    rng = random.Random(0)
    n = len(values)
    medians = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(rounds))
    return medians[int(rounds * 0.025)], medians[int(rounds * 0.975) - 1]


# --- 3. cold start ----------------------------------------------------------------------------

_COLD: dict[str, str] = {
    "spotkit": """
        import spotkit
        record = spotkit.now_playing()
        ok = record is not None and record["item_uri"] is not None
    """,
    "bare requests": """
        import json, requests
        with open(CONF["bare_cache"]) as f:
            token = json.load(f)["access_token"]
        body = requests.get(CONF["url"], headers={"Authorization": "Bearer " + token},
                            timeout=(3.05, 10)).json()
        ok = body["item"] is not None
    """,
    "spotipy": """
        from _peers import spotipy_client, spotipy_pkce
        auth = spotipy_pkce(CONF["accounts_url"], CONF["client_id"], CONF["redirect_uri"],
                            CONF["spotipy_cache"], CONF["scope"])
        sp = spotipy_client(CONF["api_url"], auth_manager=auth)
        body = sp.currently_playing(additional_types="track,episode")
        ok = body["item"] is not None
    """,
    "tekore": """
        import warnings
        import tekore as tk
        from _peers import tekore_sender
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # no client secret in the file: PKCE
            client_id, _, _, refresh = tk.config_from_file(CONF["tekore_conf"],
                                                           return_refresh=True)
        sender = tekore_sender(CONF["api_url"], CONF["accounts_url"])
        token = tk.RefreshingCredentials(client_id, sender=sender).refresh_pkce_token(refresh)
        body = tk.Spotify(token, sender=sender).playback_currently_playing()
        ok = body.item is not None
    """,
}
_COLD_FRAME = """
import time
_t0 = time.perf_counter()
import sys
sys.path.insert(0, {bench!r})
CONF = {conf!r}
{body}
_t1 = time.perf_counter()
sys.stdout.write("%r %r" % (_t1 - _t0, ok))
"""


def cold_start(sb: SandboxProcess, runs: int) -> dict[str, Any]:
    """A new process: import, load the saved login, one now-playing call; ms, median of `runs`.

    Each client starts from what it keeps on disk between sessions: spotkit and spotipy a token
    cache file (a valid access token), bare requests a JSON file with the access token, tekore
    its config file, which holds only the refresh token (tekore has no access-token cache), so
    a new tekore process must refresh before its first call.
    """
    import tekore as tk

    sb.play()
    names = list(_COLD)
    samples: dict[str, list[float]] = {name: [] for name in names}
    walls: dict[str, list[float]] = {name: [] for name in names}
    failures: dict[str, int] = dict.fromkeys(names, 0)
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        conf = {"api_url": sb.api_url, "accounts_url": sb.accounts_url, "client_id": sb.client_id,
                "redirect_uri": sb.redirect_uri, "bare_cache": str(tmp / "bare.json"),
                "spotipy_cache": str(tmp / "spotipy.json"), "tekore_conf": str(tmp / "tekore.cfg"),
                "url": f"{sb.api_url}{NOW_PLAYING_PATH}?{NOW_PLAYING_QUERY}", "scope": ""}
        env = clean_env({**sb.env, "SPOTKIT_CACHE_PATH": str(tmp / "spotkit.json")})
        for _ in range(runs):
            answer = sb.mint_token()
            conf["scope"] = answer["scope"]
            seed_spotkit_cache(tmp / "spotkit.json", sb, answer)
            seed_spotipy_cache(tmp / "spotipy.json", answer)
            (tmp / "bare.json").write_text(json.dumps(answer))
            (tmp / "tekore.cfg").unlink(missing_ok=True)
            tk.config_to_file(str(tmp / "tekore.cfg"),
                              (sb.client_id, None, sb.redirect_uri, answer["refresh_token"]))
            rng.shuffle(names)
            for name in names:
                code = _COLD_FRAME.format(bench=str(BENCH_DIR), conf=conf,
                                          body=textwrap.dedent(_COLD[name]))
                started = time.perf_counter()
                out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     env=env, cwd=tmp, timeout=60, stdin=subprocess.DEVNULL,
                                     check=False)
                wall = time.perf_counter() - started
                try:
                    seconds, ok = out.stdout.split()
                except ValueError:
                    failures[name] += 1
                    print(f"cold start of {name} failed: {out.stderr.strip()[-600:]}",
                          file=sys.stderr)
                    continue
                if ok != "True":
                    failures[name] += 1
                samples[name].append(float(seconds) * 1000)
                walls[name].append(wall * 1000)
    return {name: {**(summary_ms(samples[name]) if samples[name] else {}),
                   "process_wall_median_ms": (statistics.median(walls[name])
                                              if walls[name] else None),
                   "failures": failures[name]}
            for name in _COLD}


# --- 4. refresh under contention --------------------------------------------------------------

CONTENTION: list[tuple[str, str, str]] = [
    ("spotkit", "shared", "16 threads, one client (one TokenManager)"),
    ("spotkit", "each", "16 threads, a client + TokenManager each, one cache file"),
    ("spotipy", "shared", "16 threads, one client (SpotifyPKCE + CacheFileHandler)"),
    ("spotipy", "each", "16 threads, a client + SpotifyPKCE each, one cache file"),
    ("tekore", "shared", "16 threads, one client (one RefreshingToken)"),
]


def contention(sb: SandboxProcess, rounds: int) -> dict[str, Any]:
    """Refresh requests the sandbox receives when 16 threads find the same expired token.

    Each round: a fresh login, the cached copy marked expired and the access token expired at
    the sandbox too, then a new process whose 16 threads are released at once, each asking for
    what plays now. Counts `POST /api/token grant_type=refresh_token` at the sandbox and the
    threads that got an answer. The sandbox rotates refresh tokens like Spotify, so a second
    refresh with the same refresh token is refused (invalid_grant).
    """
    sb.play()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for client, mode, what in CONTENTION:
            refreshes: list[int] = []
            ok: list[int] = []
            failed: dict[str, int] = {}
            examples: dict[str, str] = {}
            for _ in range(rounds):
                answer = sb.mint_token()
                spotkit_cache = tmp / "spotkit.json"
                spotkit_cache.unlink(missing_ok=True)
                seed_spotkit_cache(spotkit_cache, sb, answer, expired=True)
                seed_spotipy_cache(tmp / "spotipy.json", answer, expired=True)
                conf = {"env": {**sb.env, "SPOTKIT_CACHE_PATH": str(spotkit_cache)},
                        "api_url": sb.api_url, "accounts_url": sb.accounts_url,
                        "client_id": sb.client_id, "redirect_uri": sb.redirect_uri,
                        "spotipy_cache": str(tmp / "spotipy.json"), "scope": answer["scope"],
                        "answer": answer}
                (tmp / "conf.json").write_text(json.dumps(conf))
                sb.expire_tokens()
                sb.reset_log()
                try:
                    out = run_json([sys.executable, str(BENCH_DIR / "_peers.py"), "contend",
                                    "--client", client, "--mode", mode,
                                    "--conf", f"@{tmp / 'conf.json'}"],
                                   timeout=120, env=clean_env(), cwd=tmp)
                except RuntimeError as exc:
                    out = {"ok": 0, "failed": {f"worker: {exc}"[:200]: 1}}
                refreshes.append(int(sb.counts().get(REFRESHES, 0)))
                ok.append(int(out["ok"]))
                for kind, n in out["failed"].items():
                    failed[kind] = failed.get(kind, 0) + int(n)
                for kind, text in out.get("examples", {}).items():
                    examples.setdefault(kind, text)
            results[f"{client} {mode}"] = {
                "client": client, "mode": mode, "what": what, "rounds": rounds,
                "refreshes_per_round": refreshes, "answered_per_round": ok,
                "failed_calls": failed, "failure_examples": examples, "threads": 16,
            }
    results["tekore each"] = {"client": "tekore", "mode": "each", "cannot": True,
                              "what": "tekore keeps tokens in memory only: no token store to "
                                      "share between clients or processes"}
    return results


# --- 6b. a 100,000-play DataFrame -------------------------------------------------------------


def _raw_history(sb: SandboxProcess, plays: int) -> list[dict[str, Any]]:
    """`plays` recently-played items (PlayHistoryObject) as a spotipy user would collect them.

    Built from the sandbox's own recently-played answer (its items, shapes and field values),
    with distinct, decreasing played_at times, then sent through json so that every item is a
    separate object, as after parsing API answers.
    """
    token = sb.mint_token()["access_token"]
    page = requests.get(f"{sb.api_url}/me/player/recently-played", params={"limit": 50},
                        headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    templates = page["items"]
    rng = random.Random(11)
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    items = []
    for _ in range(plays):
        at -= timedelta(milliseconds=rng.randint(60_000, 400_000))
        item = dict(rng.choice(templates))
        item["played_at"] = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        items.append(item)
    loaded: list[dict[str, Any]] = json.loads(json.dumps(items))
    return loaded


def frame(sb: SandboxProcess, plays: int, repeat: int) -> dict[str, Any]:
    """spotkit's HistoryLogger.to_frame() beside pandas.json_normalize on the same plays.

    The store is filled with the same raw items through spotkit.records.history_record (the
    record a recently-played poll stores). Both sides run in this process, alternating;
    json_normalize followed by the two conversions a user needs to get spotkit's columns
    (played_at as datetimes, artist names) runs once.
    """
    import pandas as pd

    from spotkit.history import HistoryLogger
    from spotkit.records import HISTORY_COLUMNS, history_record

    items = _raw_history(sb, plays)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.sqlite3"
        rows = []
        for item in items:
            record = history_record(item)
            row = {col: record.get(col) for col in HISTORY_COLUMNS}
            row["played_at"] = int(record["played_at"].timestamp() * 1000)
            row["play_key"] = record["item_uri"]
            row["source"] = "recently_played"
            rows.append(row)
        with HistoryLogger(path) as history:
            history.store.add_many(rows)
            del rows

            def normalize_plus() -> Any:
                df = pd.json_normalize(items)
                df["played_at"] = pd.to_datetime(df["played_at"], utc=True, format="ISO8601")
                df["artists"] = [", ".join(a["name"] for a in artists)
                                 for artists in df["track.artists"]]
                return df

            contenders: dict[str, Callable[[], Any]] = {
                "spotkit to_frame": history.to_frame,
                "json_normalize": lambda: pd.json_normalize(items),
                "json_normalize + played_at + artists": normalize_plus,
            }
            shapes: dict[str, tuple[int, ...]] = {}
            times: dict[str, list[float]] = {name: [] for name in contenders}
            for i in range(repeat):
                names = list(contenders)
                if i % 2:
                    names.reverse()
                if i:  # the slowest and least telling: once is enough
                    names.remove("json_normalize + played_at + artists")
                for name in names:
                    start = time.perf_counter()
                    result = contenders[name]()
                    times[name].append((time.perf_counter() - start) * 1000)
                    shapes[name] = tuple(result.shape)
                    del result
    return {"plays": plays, "repeat": repeat,
            **{name: {"median_ms": statistics.median(times[name]), "runs": len(times[name]),
                      "shape": shapes[name]} for name in times}}


# --- standalone -------------------------------------------------------------------------------


def sizes(quick: bool) -> dict[str, int]:
    """How much of each part to run: the full run fits in a few minutes on 2 cores."""
    if quick:
        return {"import_runs": 5, "calls": 200, "cold_runs": 3, "rounds": 1, "plays": 10_000,
                "frame_repeat": 1}
    return {"import_runs": 15, "calls": 1000, "cold_runs": 9, "rounds": 3, "plays": 100_000,
            "frame_repeat": 3}


def run_parts(parts: list[str], quick: bool,
              sandbox: SandboxProcess | None = None) -> dict[str, Any]:
    size = sizes(quick)
    results: dict[str, Any] = {}
    if "imports" in parts:
        results["imports"] = import_times(size["import_runs"])
    if set(parts) - {"imports"}:
        sb = sandbox or SandboxProcess()
        try:
            if "latency" in parts:
                results["latency"] = latency(sb, size["calls"])
            if "cold" in parts:
                results["cold"] = cold_start(sb, size["cold_runs"])
            if "contention" in parts:
                results["contention"] = contention(sb, size["rounds"])
            if "frame" in parts:
                results["frame"] = frame(sb, size["plays"], size["frame_repeat"])
        finally:
            if sandbox is None:
                sb.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--part", choices=PARTS, action="append",
                        help="run only this part (repeatable; default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--json", action="store_true", help="print JSON (the default too)")
    args = parser.parse_args(argv)
    print(json.dumps(run_parts(args.part or list(PARTS), args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
