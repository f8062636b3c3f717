"""bench/run.py starts, runs one cheap part against a sandbox subprocess and prints its table.

Not a benchmark: no figure is checked except spotkit's single refresh under contention, which is
a correctness property (a count, not a timing).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("spotipy")
pytest.importorskip("tekore")

RUN = Path(__file__).resolve().parents[1] / "bench" / "run.py"
SKIP = ("imports", "latency", "cold", "frame", "widget", "history")


def test_run_quick_prints_the_table() -> None:
    args = [sys.executable, str(RUN), "--quick"]
    for part in SKIP:
        args += ["--skip", part]
    done = subprocess.run(args, capture_output=True, text=True, timeout=90,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "measure" in out.splitlines()[0]
    assert "goal" in out.splitlines()[0]
    contention = [line for line in out.splitlines() if line.startswith("4 ")]
    assert len(contention) == 2
    assert all(line.rstrip().endswith("pass") for line in contention), out
    assert "not run" in out  # the skipped parts still have their rows
    assert "Python" in out


def test_bench_library_runs_small_and_counts_calls() -> None:
    """The library benchmark on a tiny library without latency: it runs, every client reads the
    same saved tracks, and spotkit's second read is the two calls its cache needs."""
    import json

    script = RUN.parent / "bench_library.py"
    done = subprocess.run([sys.executable, str(script), "--saved-tracks", "120", "--playlists", "4",
                           "--latency", "0", "--json"], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False, cwd=RUN.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    results = {r["client"]: r["rounds"] for r in json.loads(done.stdout)["results"]}
    assert set(results) == {"spotkit", "spotipy", "tekore"}
    assert {rounds[0]["saved_tracks"] for rounds in results.values()} == {120}
    assert results["spotkit"][1]["calls"] == 2  # one page of saved tracks, one of playlists
    assert results["spotipy"][1]["calls"] == results["spotipy"][0]["calls"]
