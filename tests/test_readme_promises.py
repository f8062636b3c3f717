"""What the README promises, checked against what spotkit does: each figure or behaviour the README
states is read from README.md here, so the text and the code cannot drift apart silently."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import responses
from fakes import FakeTokens, free_port, interrupt_after

from spotkit.client import Spotify
from spotkit.config import load_settings
from spotkit.errors import RateLimited
from spotkit.sandbox import Sandbox

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
API = "http://127.0.0.1:9/v1"
NOW_URL = f"{API}/me/player/currently-playing"


def promised(pattern: str) -> re.Match[str]:
    match = re.search(pattern, README, re.DOTALL)
    assert match, f"README.md no longer says {pattern!r}: update this test with the new promise"
    return match


# --- defaults -------------------------------------------------------------------------------------


def test_the_recorders_default_interval_is_the_readmes() -> None:
    from spotkit.cli import build_parser
    from spotkit.history import HistoryLogger

    minutes = int(promised(r"history\.start\(\)\s+# or keep recording in the background "
                           r"\(every (\d+) min\)").group(1))
    assert HistoryLogger.__init__.__kwdefaults__ is not None
    assert HistoryLogger.__init__.__kwdefaults__["interval"] == minutes * 60
    args = build_parser().parse_args(["history", "record"])
    assert args.interval == minutes * 60  # `spotkit history record` polls as often


def test_the_metadata_caches_max_age_is_the_readmes() -> None:
    from datetime import timedelta

    from spotkit.metadata import DEFAULT_MAX_AGE, enrich

    days = int(promised(r"\(fetched again after (\d+) days\)").group(1))
    assert timedelta(days=days) == DEFAULT_MAX_AGE
    assert enrich.__kwdefaults__ is not None
    assert enrich.__kwdefaults__["max_age"] == DEFAULT_MAX_AGE


def test_the_default_max_retry_wait_is_the_readmes(mocked: responses.RequestsMock,
                                                   sleeps: list[float]) -> None:
    seconds = float(promised(r"\(`max_retry_wait`, (\d+(?:\.\d+)?) s by default\)").group(1))
    with Spotify(load_settings(env={"SPOTKIT_API_URL": API}, dotenv=False),
                 auth=FakeTokens()) as sp:
        # a Retry-After of exactly the promised wait is waited for, then the call succeeds
        mocked.get(NOW_URL, status=429, headers={"Retry-After": f"{seconds:g}"})
        mocked.get(NOW_URL, status=204)
        assert sp.now_playing() is None
        assert sleeps == [seconds]
        # one second more is raised at once, without sleeping
        mocked.replace(responses.GET, NOW_URL, status=429, headers={"Retry-After": f"{seconds + 1:g}"})
        with pytest.raises(RateLimited) as info:
            sp.now_playing()
        assert info.value.retry_after == seconds + 1
        assert sleeps == [seconds]


# --- Ctrl-C -----------------------------------------------------------------------------------------


def test_the_readme_states_both_ctrl_c_rules() -> None:
    promised(r"Ctrl-C during a command exits\s+with 130")
    promised(r"`spotkit sandbox`,\s+`spotkit demo`\s+and\s+`spotkit history record`.{0,120}exit 0")


def _env(sb: Sandbox, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "SPOTKIT_"))}
    env.update(sb.env, SPOTKIT_CACHE_PATH=str(tmp_path / "tokens.json"), PYTHONUNBUFFERED="1",
               SPOTIFY_REDIRECT_URI=f"http://127.0.0.1:{free_port()}/callback", HOME=str(tmp_path))
    return env


@pytest.mark.slow
def test_ctrl_c_during_a_command_exits_130(tmp_path: Path) -> None:
    with Sandbox() as sb:
        code, err = interrupt_after(["login", "--no-browser", "--timeout", "60"], "/authorize?",
                                     _env(sb, tmp_path), tmp_path)
    assert code == 130, err
    assert err.strip().splitlines() == ["spotkit: interrupted"]


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "ready"), [
    (["sandbox"], "Admin API:"),
    (["demo", "--terminal", "--sandbox", "--speed", "60"], "Now playing (Ctrl-C to stop):"),
    (["history", "record", "--interval", "30"], "plays (total"),
])
def test_ctrl_c_ends_the_commands_that_run_until_stopped_with_0(argv: list[str], ready: str,
                                                                tmp_path: Path) -> None:
    from history_helpers import log_in

    with Sandbox() as sb:
        log_in(sb, tmp_path / "tokens.json")
        code, err = interrupt_after([*argv, "--db", str(tmp_path / "h.sqlite3")]
                                     if argv[0] == "history" else argv, ready,
                                     _env(sb, tmp_path), tmp_path)
    assert code == 0, err
    assert "Traceback" not in err
