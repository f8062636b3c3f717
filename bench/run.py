"""Every spotkit benchmark in one run, spotkit beside the clients its users would otherwise pick.

    .venv/bin/python bench/run.py            # full run: a few minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # smoke run, small sizes (under a minute or so)
    .venv/bin/python bench/run.py --json     # every figure as JSON
    .venv/bin/python bench/run.py --markdown # the table for BENCHMARKS.md

Needs the bench extra (`pip install -e .[bench]`: spotipy, tekore). Parts 1-4 and the 100,000-play
DataFrame run in bench_peers.py against ONE sandbox subprocess shared by every client; the widget
(5) and history (6) figures come from bench_widget.py and bench_history.py, run as subprocesses
with --json (each starts its own sandbox, with a compressed clock). Everything this command
starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import bench_peers
from _common import BENCH_DIR, SandboxProcess, machine_info, run_json

IMPORT_GOAL = 1.15      # import spotkit: at most 1.15x import requests
LATENCY_GOAL = 1.10     # now_playing(): at most 1.10x a bare requests GET + .json()
PEER_GOAL = 1.00        # ... and no slower than spotipy or tekore
WIDGET_CALLS_GOAL = 20.0  # bench_widget.py's GOAL_CALLS_PER_TRACK (watched, per 3-minute track)
WIDGET_SKIP_GOAL = 10.0  # bench_widget.py's GOAL_SKIP_P95 (watched, seconds, real time)

PASS, FAIL, TIE, INFO, ERROR, NOT_RUN = "pass", "FAIL", "tie", "info", "error", "not run"


@dataclass
class Row:
    part: str
    measure: str
    spotkit: str
    beside: str
    ratio: str
    goal: str
    verdict: str


# --- running the parts ------------------------------------------------------------------------


def _guard(results: dict[str, Any], key: str, job: Callable[[], Any]) -> None:
    """Run one part; a failure becomes {"error": ...} so the other parts still report."""
    started = time.monotonic()
    print(f"  running {key} ...", file=sys.stderr, flush=True)
    try:
        results[key] = job()
    except Exception as exc:
        results[key] = {"error": f"{type(exc).__name__}: {exc}"[:400]}
    print(f"  {key}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def _script(name: str, args: list[str], timeout: float) -> Any:
    path = BENCH_DIR / name
    if not path.exists():
        return {"not_run": f"bench/{name} not found"}
    return run_json([sys.executable, str(path), *args], timeout=timeout)


def run_all(quick: bool, skip: set[str]) -> dict[str, Any]:
    size = bench_peers.sizes(quick)
    results: dict[str, Any] = {"sizes": size, "quick": quick}
    if "imports" not in skip:
        _guard(results, "imports", lambda: bench_peers.import_times(size["import_runs"]))
    peers = [p for p in ("latency", "cold", "contention", "frame") if p not in skip]
    if peers:
        sb: SandboxProcess | None = None
        try:
            sb = SandboxProcess()
            sandbox = sb
            jobs: dict[str, Callable[[], Any]] = {
                "latency": lambda: bench_peers.latency(sandbox, size["calls"]),
                "cold": lambda: bench_peers.cold_start(sandbox, size["cold_runs"]),
                "contention": lambda: bench_peers.contention(sandbox, size["rounds"]),
                "frame": lambda: bench_peers.frame(sandbox, size["plays"],
                                                   size["frame_repeat"]),
            }
            for part in peers:
                _guard(results, part, jobs[part])
        except Exception as exc:
            for part in peers:
                results.setdefault(part, {"error": f"{type(exc).__name__}: {exc}"[:400]})
        finally:
            if sb is not None:
                sb.close()
    if "widget" not in skip:
        widget_args = ["--json", "--minutes", "12", "--speed", "40"] if quick else ["--json"]
        _guard(results, "widget", lambda: _script("bench_widget.py", widget_args, 600))
    if "history" not in skip:
        history_args = (["--json", "--only", "calls", "--minutes", "60"] if quick else
                        ["--json", "--only", "calls", "--only", "frame", "--repeat", "3"])
        _guard(results, "history", lambda: _script("bench_history.py", history_args, 600))
    return results


# --- the table --------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms" if value >= 10 \
        else f"{value:.2f} ms"


def _verdict(ratio: float, goal: float, ci: tuple[float, float] | None = None) -> str:
    """pass only when the whole 95% interval is within the goal: a ratio within noise of the
    goal (the interval reaches past it, on either side) is a tie, not a pass."""
    if ci is None:
        return PASS if ratio <= goal else FAIL
    if ci[1] <= goal:
        return PASS
    if ci[0] <= goal:
        return TIE
    return FAIL


def _problem(part: dict[str, Any] | None) -> str | None:
    if part is None:
        return NOT_RUN
    if "error" in part:
        return f"{ERROR}: {part['error']}"
    if "not_run" in part:
        return f"{NOT_RUN}: {part['not_run']}"
    return None


def _failed_row(part: str, measure: str, why: str) -> Row:
    verdict = ERROR if why.startswith(ERROR) else NOT_RUN
    return Row(part, measure, "—", why, "—", "—", verdict)


def _spread(v: dict[str, Any]) -> str:
    return f"{_ms(float(v['median_ms']))} (p10-p90 {_ms(float(v['p10_ms']))}-{_ms(float(v['p90_ms']))})"


def import_rows(r: dict[str, Any] | None) -> list[Row]:
    why = _problem(r)
    if why or r is None:
        return [_failed_row("1", "import time, fresh process", why or NOT_RUN)]
    med = {name: float(v["median_ms"]) for name, v in r.items()}
    req = med["requests"]
    beside = (f"requests {_spread(r['requests'])}; spotipy {_ms(med['spotipy'])} "
              f"({med['spotipy'] / req:.2f}x); tekore {_ms(med['tekore'])} ({med['tekore'] / req:.2f}x)")
    goal = f"<= {IMPORT_GOAL:.2f}x requests"
    rows = []
    for name, measure in (("spotkit", "import time: `import spotkit` (names load lazily)"),
                          ("spotkit.client", "import time: `from spotkit import now_playing` "
                                             "(imports all of requests: 1.0x at best)")):
        v = r[name]
        ratio = float(v.get("paired_ratio_to_requests", med[name] / req))
        ci = v.get("paired_ratio_ci95")
        shown = f"{ratio:.2f}x requests"
        if ci is not None:
            shown += f" (paired median, 95% CI {ci[0]:.2f}-{ci[1]:.2f})"
            if name == "spotkit.client" and ci[0] <= 1.0 <= ci[1]:
                shown += "; 1.0x within noise"
        rows.append(Row("1", measure, _spread(v), beside, shown, goal,
                        _verdict(ratio, IMPORT_GOAL, None if ci is None else (ci[0], ci[1]))))
    return rows


def latency_rows(r: dict[str, Any] | None) -> list[Row]:
    why = _problem(r)
    if why or r is None:
        return [_failed_row("2", "now-playing latency", why or NOT_RUN)]
    c = r["clients"]
    med = {name: float(v["median_ms"]) for name, v in c.items()}
    ours = med["spotkit"]
    n = r["calls_per_client"]
    rows = []
    baselines = [("bare requests", LATENCY_GOAL)]
    if "bare requests (trust_env=False)" in med:  # runs saved before it was measured lack it
        baselines.append(("bare requests (trust_env=False)", LATENCY_GOAL))
    for name, goal in (*baselines, ("spotipy", PEER_GOAL), ("tekore", PEER_GOAL)):
        ratio = ours / med[name]
        ci = tuple(c[name]["spotkit_paired_ratio_ci95"])
        extra = ""
        if name == "spotipy":
            extra = (f" (with SpotifyPKCE + CacheFileHandler, which reads the cache file on "
                     f"every call: {_ms(med['spotipy + cache file'])})")
        elif name == "tekore":
            extra = " (httpx)"
        elif name == "bare requests":
            extra = " (a default Session: reads proxy and .netrc settings on every call)"
        else:
            extra = " (reads nothing per call, as spotkit's session)"
        rows.append(Row(
            "2", f"now_playing() median latency, {n} keep-alive calls each, vs {name}",
            _ms(ours), f"{name} {_ms(med[name])}{extra}",
            f"{ratio:.3f}x (paired {c[name]['spotkit_paired_ratio']:.3f}, 95% CI "
            f"{ci[0]:.3f}-{ci[1]:.3f})",
            f"<= {goal:.2f}x", _verdict(ratio, goal, (ci[0], ci[1]))))
    return rows


def cold_rows(r: dict[str, Any] | None) -> list[Row]:
    why = _problem(r)
    if why or r is None:
        return [_failed_row("3", "cold start to first record", why or NOT_RUN)]
    med = {name: v.get("median_ms") for name, v in r.items()}
    ours = med["spotkit"]
    if ours is None:
        return [_failed_row("3", "cold start to first record", f"{ERROR}: spotkit failed")]
    parts, ratios = [], []
    for name in ("bare requests", "spotipy", "tekore"):
        value = med[name]
        if value is None:
            parts.append(f"{name}: failed")
            continue
        note = " (refresh first: no access-token cache)" if name == "tekore" else ""
        fails = r[name].get("failures", 0)
        parts.append(f"{name} {_ms(value)}{note}" + (f", {fails} failed" if fails else ""))
        ratios.append(f"{ours / value:.2f}x {name.split()[0]}")
    return [Row("3", "cold start: new process, import + saved login + 1 now-playing call "
                f"(median of {r['spotkit']['n']})", _ms(ours), "; ".join(parts), ", ".join(ratios),
                "— (no goal set)", INFO)]


def contention_rows(r: dict[str, Any] | None) -> list[Row]:
    why = _problem(r)
    if why or r is None:
        return [_failed_row("4", "refresh under contention", why or NOT_RUN)]

    def figure(entry: dict[str, Any]) -> str:
        if entry.get("cannot"):
            return "cannot"
        refreshes = entry["refreshes_per_round"]
        failed = sum(entry["failed_calls"].values())
        total = entry["threads"] * entry["rounds"]
        text = (f"{'/'.join(map(str, refreshes))} refresh" +
                ("es" if max(refreshes) != 1 else ""))
        if failed:
            kinds = ", ".join(f"{k} x{v}" for k, v in sorted(entry["failed_calls"].items()))
            text += f", {failed} of {total} calls failed ({kinds})"
        else:
            text += f", all {total} calls answered"
        return text

    rows = []
    for mode, title in (("shared", "16 threads sharing one client"),
                        ("each", "16 threads, a client each, one token store")):
        ours = r[f"spotkit {mode}"]
        ok = (all(n == 1 for n in ours["refreshes_per_round"])
              and not ours["failed_calls"]
              and all(n == ours["threads"] for n in ours["answered_per_round"]))
        peers = [f"spotipy {figure(r[f'spotipy {mode}'])}"]
        tek = r[f"tekore {mode}"]
        peers.append(f"tekore: cannot ({tek['what'].removeprefix('tekore ')})"
                     if tek.get("cannot") else f"tekore {figure(tek)}")
        rows.append(Row("4", f"refresh requests per round, expired token, {title} "
                             f"({ours['rounds']} rounds)", figure(ours), "; ".join(peers), "—",
                        "exactly 1, every call answered", PASS if ok else FAIL))
    return rows


def widget_rows(r: dict[str, Any] | None) -> list[Row]:
    why = _problem(r)
    if why or r is None:
        return [_failed_row("5", "now-playing widget", why or NOT_RUN)]
    runs = r["runs"]
    watched, unwatched, others = runs[0], runs[1], runs[2:]
    note = (f" ({r['minutes']:.0f} simulated minutes at sandbox x{r['speed']:g}, {r['changes']} "
            f"track changes of which {r['skips']} skips from another device)")

    def calls(run: dict[str, Any]) -> str:
        return f"{run['strategy']} {run['calls_per_3min_track']:.1f} ({run['calls_per_hour']:.0f}/h)"

    def skip(run: dict[str, Any]) -> str:
        # `missed` counts every change (skips and natural ends) the strategy never showed
        return (f"{run['strategy']} p95 {run['skip_p95_s']:.2f} s, {run['missed']} of "
                f"{r['changes']} changes never shown")

    cpt, p95 = watched["calls_per_3min_track"], watched["skip_p95_s"]
    return [
        Row("5", "widget watched: API calls per 3 minutes of listening", f"{cpt:.1f}",
            "; ".join(calls(run) for run in others) + note, "—",
            f"<= {WIDGET_CALLS_GOAL:g} (bench_widget.py)",
            PASS if cpt <= WIDGET_CALLS_GOAL else FAIL),
        Row("5", "widget watched: a skip on another device shown after (real time)",
            f"p95 {p95:.2f} s, max {watched['skip_max_s']:.2f} s",
            "; ".join(skip(run) for run in others), "—",
            f"<= {WIDGET_SKIP_GOAL:g} s p95 (bench_widget.py)",
            PASS if p95 <= WIDGET_SKIP_GOAL and watched["missed"] == 0 else FAIL),
        Row("5", "widget not watched: API calls per hour", f"{unwatched['calls_per_hour']:.0f}",
            calls(runs[2]), "—", "0 (bench_widget.py)",
            PASS if unwatched["calls_per_hour"] == 0 else FAIL),
    ]


def history_rows(h: dict[str, Any] | None, f: dict[str, Any] | None) -> list[Row]:
    rows = []
    why = _problem(h)
    calls = None if why or h is None else h.get("calls")
    if calls is None:
        rows.append(_failed_row("6", "history: API calls per recorded play", why or NOT_RUN))
    else:
        complete = bool(calls["complete"])
        rows.append(Row(
            "6", f"history: API calls per recorded play (polls every {calls['interval_s']:g} s, "
                 f"{calls['sandbox_minutes']:g} sandbox minutes)",
            f"{calls['calls_per_play']:.3f}",
            f"{calls['recently_played_calls']} calls for {calls['plays_recorded']} plays, "
            f"{'every play recorded once' if complete else 'INCOMPLETE'}; spotipy / tekore: "
            "cannot (no recorder: a user writes the polling loop and the store)", "—",
            "every play recorded once", PASS if complete else FAIL))
    tf = None if _problem(h) or h is None else h.get("to_frame")
    if tf is None:
        rows.append(_failed_row("6", "history: 100,000-play DataFrame", _problem(h) or NOT_RUN))
    else:
        ours, same = tf["to_frame_s"] * 1000, tf["read_sql_astype_s"] * 1000
        context = ""
        if not _problem(f) and f is not None:
            context = (f"; for scale, pandas.json_normalize on the raw recently-played dicts "
                       f"{_ms(float(f['json_normalize']['median_ms']))} (it also flattens them: "
                       "not the same work)")
        rows.append(Row(
            "6", f"history: DataFrame of {tf['plays']:,} plays (median of {tf.get('repeat', 3)})",
            f"{_ms(ours)} (HistoryLogger.to_frame)",
            f"the same frame by hand on the same store: pandas.read_sql of the play_rows view + "
            f"astype to the same dtypes {_ms(same)}{context}",
            f"{ours / same:.2f}x read_sql + astype", "— (no goal set)", INFO))
    return rows


def build_rows(results: dict[str, Any]) -> list[Row]:
    history = results.get("history")
    return [*import_rows(results.get("imports")), *latency_rows(results.get("latency")),
            *cold_rows(results.get("cold")), *contention_rows(results.get("contention")),
            *widget_rows(results.get("widget")),
            *history_rows(history, results.get("frame"))]


COLUMNS = ("#", "measure", "spotkit", "beside (bare / peers)", "ratio", "goal", "result")


def text_table(rows: list[Row]) -> str:
    widths = (2, 38, 16, 46, 26, 16, 6)
    out = []

    def emit(cells: tuple[str, ...]) -> None:
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
        for i in range(max(len(w) for w in wrapped)):
            out.append(" ".join((w[i] if i < len(w) else "").ljust(width)
                                for w, width in zip(wrapped, widths, strict=True)).rstrip())

    emit(COLUMNS)
    out.append(" ".join("-" * w for w in widths))
    for row in rows:
        emit(tuple(asdict(row).values()))
        out.append("")
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        values = [cell(v) for v in asdict(row).values()]
        if values[-1] in (FAIL, TIE):
            values[-1] = f"**{values[-1]}**"
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines)


def machine_lines(machine: dict[str, Any]) -> list[str]:
    v = machine["versions"]
    return [f"date {machine['date']}; {machine['cpus']} CPUs ({machine['cpu_model']}), load "
            f"average at start {machine['load_average_at_start']}; {machine['platform']}; "
            f"Python {machine['python']}",
            "versions: " + ", ".join(f"{k} {val}" for k, val in v.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print every figure as JSON")
    out.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--skip", action="append", default=[],
                        choices=("imports", "latency", "cold", "contention", "frame", "widget",
                                 "history"), help="leave a part out (repeatable)")
    parser.add_argument("--save", type=Path, help="also write the JSON results to this file")
    parser.add_argument("--load", type=Path,
                        help="run nothing: print the table of a run saved with --save")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a goal is missed (FAIL) or a part errors")
    args = parser.parse_args(argv)

    if args.load:
        doc = json.loads(args.load.read_text())
        machine, results = doc["machine"], doc["results"]
        args.quick = bool(results.get("quick"))
    else:
        machine = machine_info()
        started = time.monotonic()
        results = run_all(args.quick, set(args.skip))
        doc = {"machine": machine, "seconds": round(time.monotonic() - started, 1),
               "results": results}
    rows = build_rows(results)
    doc["rows"] = [asdict(r) for r in rows]
    if args.save:
        args.save.write_text(json.dumps(doc, indent=2, default=str))
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
    elif args.markdown:
        print(markdown_table(rows))
        print()
        for line in machine_lines(machine):
            print(f"- {line}")
        print(f"- whole run: {doc['seconds']:.0f} s{' (--quick)' if args.quick else ''}")
    else:
        print(text_table(rows))
        for line in machine_lines(machine):
            print(line)
        print(f"whole run: {doc['seconds']:.0f} s{' (--quick)' if args.quick else ''}")
    bad = [r for r in rows if r.verdict in (FAIL, ERROR)]
    return 1 if args.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())
