"""Median latency of `Spotify.now_playing()` beside a bare `requests.Session` GET + `.json()`.

Both talk to the same sandbox, which runs in a subprocess (`python -m spotkit sandbox`): a server
in this process would compete for the GIL and distort the figures. The two sides alternate in
interleaved batches so that machine noise hits both alike. spotkit takes the real path: settings
for the sandbox, a `TokenManager` over a token cache seeded with a token minted through the
sandbox's admin API (POST /_sandbox/tokens), and a full flat record per call.

    .venv/bin/python bench/bench_now_playing.py [--calls 1000] [--batch 50] [--json]

Goal: ratio (spotkit median / bare median) at most 1.10.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests
from _common import SandboxProcess, seed_spotkit_cache, summary_ms, timed

from spotkit.auth.tokens import TokenManager
from spotkit.client import Spotify
from spotkit.config import load_settings

GOAL = 1.10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per side (>= 500)")
    parser.add_argument("--batch", type=int, default=10, help="calls per interleaved batch")
    parser.add_argument("--warmup", type=int, default=100, help="untimed calls per side first")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.calls < 500:
        parser.error("--calls must be at least 500")

    with SandboxProcess() as sb, tempfile.TemporaryDirectory() as tmp:
        answer = sb.mint_token()
        settings = load_settings(env=sb.env, cache_path=Path(tmp) / "t.json", dotenv=False)
        seed_spotkit_cache(settings.cache_path, sb, answer)
        sp = Spotify(settings, auth=TokenManager(settings))

        bare = requests.Session()
        url = f"{settings.api_url}/me/player/currently-playing?additional_types=track,episode"
        headers = {"Authorization": f"Bearer {answer['access_token']}"}

        def bare_call() -> Any:
            return bare.get(url, headers=headers, timeout=(3.05, 10.0)).json()

        assert sp.now_playing() is not None, "the sandbox should be playing something"
        assert bare_call().get("item") is not None
        ours: list[float] = []
        theirs: list[float] = []
        our_cpu: list[float] = []
        their_cpu: list[float] = []
        timed(sp.now_playing, args.warmup, [], [])
        timed(bare_call, args.warmup, [], [])
        batch_ratios: list[float] = []
        done = 0
        while done < args.calls:
            n = min(args.batch, args.calls - done)
            before = len(ours)
            if (done // args.batch) % 2:  # alternate which side goes first
                timed(bare_call, n, theirs, their_cpu)
                timed(sp.now_playing, n, ours, our_cpu)
            else:
                timed(sp.now_playing, n, ours, our_cpu)
                timed(bare_call, n, theirs, their_cpu)
            batch_ratios.append(statistics.median(ours[before:])
                                / statistics.median(theirs[before:]))
            done += n
        sp.close()
        bare.close()

    result: dict[str, Any] = {
        "calls_per_side": args.calls,
        "spotkit": {**summary_ms(ours), "client_cpu_ms": sum(our_cpu) * 1000 / args.calls},
        "bare_requests": {**summary_ms(theirs), "client_cpu_ms": sum(their_cpu) * 1000 / args.calls},
    }
    ratio = result["spotkit"]["median_ms"] / result["bare_requests"]["median_ms"]
    result["ratio"] = ratio
    # the same, batch by batch: robust when the machine's load drifts during the run
    result["paired_batch_ratio"] = statistics.median(batch_ratios)
    result["goal"] = GOAL
    result["python"] = sys.version.split()[0]
    result["cpus"] = os.cpu_count()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"now_playing() latency over {args.calls} calls per side, interleaved batches of "
              f"{args.batch}, sandbox in a subprocess")
        for name in ("spotkit", "bare_requests"):
            s = result[name]
            print(f"  {name:<14} median {s['median_ms']:.3f} ms   p10 {s['p10_ms']:.3f}   "
                  f"p90 {s['p90_ms']:.3f}   mean {s['mean_ms']:.3f}   "
                  f"client CPU {s['client_cpu_ms']:.3f} ms/call")
        verdict = "OK" if ratio <= GOAL else "ABOVE GOAL"
        print(f"  ratio spotkit / bare: {ratio:.3f} (goal <= {GOAL:.2f}) {verdict}")
        print(f"  median of per-batch ratios: {result['paired_batch_ratio']:.3f}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
