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
