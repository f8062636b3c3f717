"""The widgets in a real browser: JupyterLab (headless), a kernel, the sandbox, Chromium.

1. the login button: click, follow the link to the consent page, Agree, see the callback page and
   `Logged in as <name>` in the notebook;
2. the now-playing widget on a time-compressed sandbox: the progress bar moves between polls and
   the title changes when the track ends;
3. its controls: next and pause change the sandbox's player, and the widget follows;
4. watched or not: no request while the card is scrolled away, the browser tab hidden, another
   JupyterLab tab in front or its output cleared, one within a second of showing it again, and a
   skip made elsewhere shown within 10 s.

Screenshots go to artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from browser_helpers import Lab, open_notebook, run_all_cells, wait_until

from spotkit.sandbox import catalogue

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPEED = 20.0  # sandbox time compression for the now-playing test


def _text(page: Any, selector: str) -> str:
    return str(page.locator(selector).inner_text()).strip()


def _progress_percent(page: Any) -> float:
    width = page.evaluate("""() => {
        const bar = document.querySelector('.spotkit-np-progress .progress-bar');
        return bar ? bar.style.width || '0%' : '0%';
    }""")
    return float(str(width).rstrip("%") or 0)


TRACKS = {t.uri: t for t in catalogue.TRACKS.values()}


def _seed_login(sandbox: Any, lab: Lab) -> None:
    """A cached login for the kernel, as if the user had logged in before."""
    from spotkit.auth.cache import TokenCache
    from spotkit.auth.token import Token

    user = sandbox.user
    TokenCache(lab.cache_path).save(sandbox.client_id, user["id"],
                                    Token.from_response(sandbox.issue_token()),
                                    display_name=user["display_name"])


def _player(sandbox: Any) -> dict[str, Any]:
    return dict(sandbox.state()["player"])


def test_login_button_logs_in_through_the_consent_page(
        sandbox: Any, lab: Lab, context: Any, screenshot: Callable[[Any, str], Path]) -> None:
    lab.cache_path.unlink(missing_ok=True)
    lab.write_notebook("login.ipynb", [
        "import spotkit.widgets as sw\n"
        "button = sw.login_button(remote=False, open_browser=False)\n"
        "button",
    ])
    page = context.new_page()
    open_notebook(page, lab, "login.ipynb")
    run_all_cells(page)

    page.locator(".spotkit-login-button").click()
    link = page.locator("a.spotkit-login-authorize")
    link.wait_for()
    assert link.get_attribute("target") == "_blank"
    assert str(link.get_attribute("href")).startswith(sandbox.accounts_url + "/authorize?")
    # the cell returned long ago: the kernel is free while the listener waits
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext"
                           ".session.kernel.status === 'idle'")

    with context.expect_page() as new_page:
        link.click()
    consent = new_page.value
    consent.wait_for_load_state()
    assert "would like to" in consent.inner_text("body")
    screenshot(consent, "login-consent")
    consent.get_by_role("button", name="Agree").click()
    consent.get_by_text("You are logged in as").wait_for()
    assert sandbox.user["display_name"] in consent.inner_text("body")
    screenshot(consent, "login-callback")
    consent.close()

    name = sandbox.user["display_name"]
    status = page.locator(".spotkit-login-status")
    status.filter(has_text=f"Logged in as {name}").wait_for()
    page.locator(".spotkit-login-logout").wait_for()
    page.locator(".spotkit-login-avatar img").wait_for()
    assert lab.cache_path.is_file()
    screenshot(page.locator(".spotkit-login"), "login-widget")


def test_now_playing_follows_the_track_and_moves_the_progress_between_polls(
        sandbox: Any, lab: Lab, context: Any, screenshot: Callable[[Any, str], Path]) -> None:
    _seed_login(sandbox, lab)
    lab.write_notebook("now_playing.ipynb", [
        "import spotkit.widgets as sw\n"
        f"player = sw.NowPlayingWidget(time_scale={SPEED})\n"
        "player",
    ])
    page = context.new_page()
    open_notebook(page, lab, "now_playing.ipynb")

    queue = sandbox.track_uris
    first, following = queue[3], queue[4]
    names = {uri: TRACKS[uri].name for uri in (first, following)}
    duration = TRACKS[first].duration_ms
    sandbox.set_speed(SPEED)
    # about 9 s of wall time left on the first track
    sandbox.set_playing(first, progress_ms=duration - int(9 * SPEED * 1000))
    run_all_cells(page)

    title = page.locator(".spotkit-np-title")
    title.filter(has_text=names[first]).wait_for()
    page.locator(".spotkit-np-art img, img.spotkit-np-art").first.wait_for()

    # between polls the bar and the clock move locally, without a request (a sample that a poll
    # happened to fall into is taken again)
    for _attempt in range(3):
        polls = sandbox.counts().get("GET /v1/me/player", 0)
        before, elapsed_before = _progress_percent(page), _text(page, ".spotkit-np-elapsed")
        page.wait_for_timeout(1000)
        after, elapsed_after = _progress_percent(page), _text(page, ".spotkit-np-elapsed")
        if sandbox.counts().get("GET /v1/me/player", 0) == polls:
            break
    else:
        pytest.fail("every sample saw a poll: the widget polls far more often than it should")
    assert after > before
    assert elapsed_after != elapsed_before
    screenshot(page.locator(".spotkit-now-playing"), "now-playing")

    # the track ends by itself; the widget shows the next one
    title.filter(has_text=names[following]).wait_for(timeout=20_000)
    assert _player(sandbox)["uri"] == following
    assert "Playing" in _text(page, ".spotkit-np-state")
    screenshot(page, "now-playing-notebook")


def test_controls_change_the_player_and_the_widget_follows(
        sandbox: Any, lab: Lab, context: Any, screenshot: Callable[[Any, str], Path]) -> None:
    _seed_login(sandbox, lab)
    sandbox.set_speed(1.0)
    queue = sandbox.track_uris
    tracks = TRACKS
    sandbox.set_playing(queue[0], progress_ms=20_000)
    lab.write_notebook("controls.ipynb", [
        "import spotkit.widgets as sw\nplayer = sw.NowPlayingWidget()\nplayer",
    ])
    page = context.new_page()
    open_notebook(page, lab, "controls.ipynb")
    run_all_cells(page)

    title = page.locator(".spotkit-np-title")
    title.filter(has_text=tracks[queue[0]].name).wait_for()
    toggle = page.locator(".spotkit-np-toggle")
    page.locator(".spotkit-np-next").wait_for()
    assert "Pause" in toggle.inner_text()

    page.locator(".spotkit-np-next").click()
    wait_until(lambda: _player(sandbox)["uri"] == queue[1], 10, "the sandbox to skip")
    title.filter(has_text=tracks[queue[1]].name).wait_for(timeout=10_000)

    toggle.click()
    wait_until(lambda: _player(sandbox)["is_playing"] is False, 10, "the sandbox to pause")
    page.locator(".spotkit-np-toggle", has_text="Play").wait_for(timeout=10_000)
    page.locator(".spotkit-np-state", has_text="Paused").wait_for(timeout=10_000)
    screenshot(page.locator(".spotkit-now-playing"), "now-playing-paused")

    toggle.click()
    wait_until(lambda: _player(sandbox)["is_playing"] is True, 10, "the sandbox to resume")
    page.locator(".spotkit-np-toggle", has_text="Pause").wait_for(timeout=10_000)

    # a failure shows in the widget instead of raising in the notebook
    sandbox.set_user(product="free")
    try:
        page.locator(".spotkit-np-next").click()
        page.locator(".spotkit-np-status", has_text="Premium").wait_for(timeout=10_000)
        assert _player(sandbox)["uri"] == queue[1]
    finally:
        sandbox.set_user(product="premium")
    counts = sandbox.counts()
    assert counts.get("POST /v1/me/player/next", 0) >= 2
    assert counts.get("PUT /v1/me/player/pause", 0) == 1
    assert counts.get("PUT /v1/me/player/play", 0) == 1


# --- watched or not: the request log tells ------------------------------------------------------

_HIDE_TAB = """(hidden) => {
    // headless Chromium keeps every page 'visible' (a second page in front, a tab in the same
    // window, a minimised window: all tried), so the tab's state is set through the DevTools
    // protocol as the browser would set it, and the browser's own event is sent
    for (const [name, value] of [['visibilityState', hidden ? 'hidden' : 'visible'],
                                 ['hidden', hidden]]) {
        Object.defineProperty(document, name, {configurable: true, get: () => value});
    }
    document.dispatchEvent(new Event('visibilitychange'));
}"""

PLAYER_PATH = "/v1/me/player"


def _polls(sandbox: Any) -> list[float]:
    """When each GET /v1/me/player reached the sandbox (epoch seconds)."""
    return [float(e["time"]) for e in sandbox.requests(PLAYER_PATH) if e["method"] == "GET"]


def _one_poll_soon_after(sandbox: Any, shown_at: float, before: int, what: str) -> float:
    polls = wait_until(lambda: _polls(sandbox)[before:], 5, f"a poll after {what}")
    delay = polls[0] - shown_at
    assert delay <= 1.0, f"the first poll after {what} came {delay:.2f} s later"
    return delay


def _silent_while(sandbox: Any, page: Any, seconds: float, what: str) -> None:
    page.wait_for_timeout(1500)  # the front end's message, and a poll already on its way
    before = len(_polls(sandbox))
    page.wait_for_timeout(seconds * 1000)
    assert len(_polls(sandbox)) == before, f"the widget called Spotify while {what}"


@pytest.mark.timeout(300)  # three silent spells longer than a sync interval, on a shared machine
def test_now_playing_calls_only_while_watched_and_shows_a_skip_within_ten_seconds(
        sandbox: Any, lab: Lab, context: Any, screenshot: Callable[[Any, str], Path]) -> None:
    _seed_login(sandbox, lab)
    sandbox.set_speed(1.0)
    queue = sandbox.track_uris
    sandbox.set_playing(queue[0], progress_ms=10_000)
    lab.write_notebook("watched.ipynb", [
        "import spotkit.widgets as sw\nplayer = sw.NowPlayingWidget()\nplayer",
        "from IPython.display import HTML\n"
        "HTML('<div style=\"height:4000px\">below the card</div><p id=\"spacer-end\">end</p>')",
    ])
    page = context.new_page()
    open_notebook(page, lab, "watched.ipynb")
    run_all_cells(page)
    card = page.locator(".spotkit-now-playing")
    page.locator(".spotkit-np-title").filter(has_text=TRACKS[queue[0]].name).wait_for()
    assert page.locator(".spotkit-np-title").get_attribute("aria-hidden") is None

    # scrolled out of view: silent for longer than a sync interval; back in view: one call at once
    page.locator("#spacer-end").scroll_into_view_if_needed()
    wait_until(lambda: not card.is_visible() or card.bounding_box() is None
               or card.bounding_box()["y"] + card.bounding_box()["height"] < 0, 5,
               "the card to leave the viewport")
    _silent_while(sandbox, page, 12, "scrolled out of view")
    before = len(_polls(sandbox))
    card.scroll_into_view_if_needed()
    _one_poll_soon_after(sandbox, time.time(), before, "scrolling back")

    # the tab hidden: silent; shown again: one call at once
    page.evaluate(_HIDE_TAB, True)
    _silent_while(sandbox, page, 12, "the tab was hidden")
    before = len(_polls(sandbox))
    page.evaluate(_HIDE_TAB, False)
    _one_poll_soon_after(sandbox, time.time(), before, "showing the tab")

    # another JupyterLab tab in front of the notebook (the browser hides the notebook's panel):
    # silent; the notebook in front again: one call at once
    notebook_id = page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    page.evaluate("() => window.jupyterapp.commands.execute('launcher:create')")
    page.locator(".jp-Launcher").first.wait_for()
    _silent_while(sandbox, page, 12, "another JupyterLab tab was in front")
    before = len(_polls(sandbox))
    page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", notebook_id)
    _one_poll_soon_after(sandbox, time.time(), before, "bringing the notebook to the front")

    # a skip on "another device" (the sandbox's admin API) shows within 10 s while watched
    page.wait_for_timeout(2000)
    skipped_to = queue[2]
    resp = requests.post(f"{sandbox.base_url}/_sandbox/player", timeout=5,
                         json={"uri": skipped_to, "is_playing": True, "progress_ms": 0})
    resp.raise_for_status()
    skipped_at = time.monotonic()
    page.locator(".spotkit-np-title").filter(has_text=TRACKS[skipped_to].name).wait_for(
        timeout=10_000)
    assert time.monotonic() - skipped_at <= 10.0
    screenshot(card, "now-playing-watched")

    # no view at all: the cell's output cleared, the front-end module says goodbye
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    card.wait_for(state="detached")
    _silent_while(sandbox, page, 12, "no view was left")
