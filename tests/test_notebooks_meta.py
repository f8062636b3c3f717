"""The tutorial notebooks' structure, without running them (nbval runs them: see scripts/test).

Valid nbformat, kernel python3, `spotkit.quickstart()` first, saved from one top-to-bottom run
against the sandbox, no errors or warnings in the stored outputs, no tokens or secrets anywhere,
and `# NBVAL_CHECK_OUTPUT` only on cells whose outputs the sanitize file makes deterministic.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "sanitize.cfg"
TUTORIALS = ("01-login", "02-now-playing", "03-history", "04-your-data-export", "05-your-library")
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MAX_BYTES = 600_000

# what a leaked credential looks like: Spotify's tokens and codes start with AQ/BQ; a key followed by
# a value (the Token repr's `access_token=***` and `refresh_token=yes` are fine)
SECRET_PATTERNS = [
    re.compile(r"(?<![A-Za-z0-9+/])[AB]Q[A-Za-z0-9_-]{40,}"),
    re.compile(r"access_token['\"]?\s*[:=]\s*['\"]?(?!\*\*\*)[A-Za-z0-9_-]{8,}"),
    re.compile(r"refresh_token['\"]?\s*[:=]\s*['\"]?(?!yes\b|no\b)[A-Za-z0-9_-]{8,}"),
    re.compile(r"Bearer\s+[A-Za-z0-9_-]{8,}"),
    re.compile(r"[?&](code|code_verifier)=[A-Za-z0-9_-]{8,}"),
    re.compile(r"client_secret['\"]?\s*[:=]\s*['\"]?[A-Za-z0-9]{8,}", re.IGNORECASE),
    re.compile(r"SPOTIFY_CLIENT_SECRET\s*=\s*\S+"),
]
# embedded pictures (album art, avatars, plots) are base64: random letters that may look like anything
_PICTURE = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")
# what must not survive sanitizing in a checked output, or the check would fail on the next run
UNSTABLE = [
    re.compile(r"127\.0\.0\.1:\d"),
    re.compile(r"spotkit-sandbox-"),
    re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"),
    re.compile(r"datetime\.datetime\("),
    re.compile(r"expires in \d"),
]


Notebook = dict[str, Any]
Cell = dict[str, Any]


def _load(name: str) -> Notebook:
    data: Notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    return data


def _source(cell: Cell) -> str:
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def _code_cells(nb: Notebook) -> list[Cell]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "".join(value) if isinstance(value, list) \
        else json.dumps(value)


def _output_text(output: dict[str, Any]) -> str:
    """Everything an output shows as text (pictures left out)."""
    if output["output_type"] == "stream":
        return _text(output["text"])
    if output["output_type"] == "error":
        return "\n".join([output["ename"], output["evalue"], *output["traceback"]])
    return "\n".join(_text(value) for mime, value in output.get("data", {}).items()
                     if not mime.startswith("image/"))


def _without_pictures(node: Any) -> Any:
    """The notebook's JSON with image payloads and widget buffers dropped."""
    if isinstance(node, dict):
        return {key: _without_pictures(value) for key, value in node.items()
                if key != "buffers" and not key.startswith("image/")}
    if isinstance(node, list):
        return [_without_pictures(value) for value in node]
    if isinstance(node, str):
        return _PICTURE.sub("data:image", node)
    return node


def _sanitize_patterns() -> list[tuple[str, str]]:
    # the very regex nbval reads its sanitize file with (nbval.plugin.get_sanitize_patterns)
    text = SANITIZE.read_text(encoding="utf-8")
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, flags=re.MULTILINE)


def _sanitize(text: str) -> str:
    for regex, replace in _sanitize_patterns():
        text = re.sub(regex, replace, text)
    return text


def test_every_tutorial_is_there() -> None:
    found = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == sorted(TUTORIALS)


@pytest.fixture(params=TUTORIALS)
def notebook(request: pytest.FixtureRequest) -> Notebook:
    return _load(str(request.param))


def test_valid_nbformat_with_the_python3_kernel(notebook: Notebook) -> None:
    nbformat.validate(notebook)
    assert notebook["nbformat"] == 4
    spec = notebook["metadata"]["kernelspec"]
    assert spec["name"] == "python3"
    assert spec["language"] == "python"
    ids = [cell["id"] for cell in notebook["cells"]]
    assert len(set(ids)) == len(ids)


def test_starts_with_a_title_then_quickstart(notebook: Notebook) -> None:
    first = notebook["cells"][0]
    assert first["cell_type"] == "markdown"
    assert _source(first).startswith("# ")
    code = [_source(cell) for cell in _code_cells(notebook)]
    assert re.search(r"^import spotkit$", code[0], flags=re.MULTILINE)
    assert re.search(r"^session = spotkit\.quickstart\(", code[0], flags=re.MULTILINE)
    assert all("quickstart(" not in source for source in code[1:])


def test_outputs_come_from_one_clean_run_against_the_sandbox(notebook: Notebook) -> None:
    code = _code_cells(notebook)
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1))
    first = "".join(_output_text(o) for o in code[0]["outputs"])
    # never a real account's data in the repository
    assert first.startswith("spotkit is using the sandbox, an offline Spotify at http://127.0.0.1:")
    for cell in code:
        for output in cell["outputs"]:
            assert output["output_type"] != "error", _source(cell)
            # warnings and tracebacks would end up in the documentation
            assert output.get("name") != "stderr", _source(cell)
            assert str(ROOT) not in _output_text(output), _source(cell)


def test_no_token_or_secret_anywhere(notebook: Notebook) -> None:
    text = json.dumps(_without_pictures(notebook), ensure_ascii=False)
    for pattern in SECRET_PATTERNS:
        match = pattern.search(text)
        assert match is None, f"{pattern.pattern} matched {match.group(0)[:24]}..."
    for cell in _code_cells(notebook):
        for output in cell["outputs"]:
            shown = _output_text(output)
            if "Token(" in shown:
                assert "access_token=***" in shown


def test_checked_cells_are_deterministic_once_sanitized(notebook: Notebook) -> None:
    checked = [cell for cell in _code_cells(notebook) if _source(cell).startswith(CHECK_MARK)]
    assert checked, "at least the quickstart cell's output is checked"
    for cell in checked:
        assert cell["outputs"], _source(cell)
        for output in cell["outputs"]:
            # widget model ids are random and nbval skips images: nothing left to check there
            assert WIDGET_VIEW not in output.get("data", {}), _source(cell)
            shown = _sanitize(_output_text(output))
            assert shown.strip(), _source(cell)
            for pattern in UNSTABLE:
                assert not pattern.search(shown), f"{pattern.pattern} left in {shown!r}"


def test_small_enough_to_review(notebook: Notebook) -> None:
    assert len(json.dumps(notebook, indent=1).encode("utf-8")) < MAX_BYTES


def test_links_between_tutorials_resolve(notebook: Notebook) -> None:
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for target in re.findall(r"\]\(([^)#]+\.ipynb)\)", _source(cell)):
                assert (NOTEBOOKS / target).is_file(), target


def test_sanitize_file_is_what_nbval_reads() -> None:
    text = SANITIZE.read_text(encoding="utf-8")
    patterns = _sanitize_patterns()
    assert len(patterns) == text.count("\nregex: ") == text.count("\nreplace: ")
    assert not re.search(r"[ \t]$", text, flags=re.MULTILINE)  # nbval keeps trailing blanks
    for regex, _ in patterns:
        re.compile(regex)
    try:
        plugin = importlib.import_module("nbval.plugin")
    except ImportError:
        return
    assert plugin.get_sanitize_patterns(text) == patterns


@pytest.mark.parametrize(("raw", "clean"), [
    ("spotkit is using the sandbox, an offline Spotify at http://127.0.0.1:45527 (logged in as "
     "Sandy Box).",
     "spotkit is using the sandbox, an offline Spotify at http://127.0.0.1:PORT (logged in as "
     "Sandy Box)."),
    ("HistoryLogger('/tmp/spotkit-sandbox-l5yqhxts/history.sqlite3', stopped)",
     "HistoryLogger('DATA_DIR/history.sqlite3', stopped)"),
    ("'fetched_at': datetime.datetime(2026, 11, 28, 1, 46, 57, 421802, "
     "tzinfo=datetime.timezone.utc),", "'fetched_at': DATETIME,"),
    ("0 2026-11-28 01:46:58.105191+00:00  Low Tide", "0 TIMESTAMP  Low Tide"),
    ("played_at='2026-11-28T01:46:07.913Z'", "played_at='TIMESTAMP'"),
    ("spotify:track:g1hXDyeIei8aKuOmiFf8wy", "spotify:track:SPOTIFY_ID"),
    ("'progress_ms': 1081,", "'progress_ms': N,"),
    ("Token(scope='user-read-private', expires in 3599 s, refresh_token=yes, access_token=***)",
     "Token(scope='user-read-private', expires in N s, refresh_token=yes, access_token=***)"),
    ("NowPlayingWidget(stopped, polls=2, calls=3)", "NowPlayingWidget(stopped, polls=N, calls=N)"),
    ("client id 12c88a2d447e59c20a127cc41eedc7e9, user sandbox-54ce4f69",
     "client id CLIENT_ID, user sandbox-USER"),
    ("Low Tide by The Paper Boats (premium, country SE)",
     "Low Tide by The Paper Boats (premium, country SE)"),
])
def test_sanitize_file_replaces_what_varies(raw: str, clean: str) -> None:
    assert _sanitize(raw) == clean
