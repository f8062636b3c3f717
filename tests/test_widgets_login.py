"""The login button: its states with a scripted flow, and a real login against the sandbox with
`requests` playing the browser (consent page, Agree, the loopback callback)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fakes import free_port
from sandbox_helpers import parse_form

from spotkit import _runtime
from spotkit.auth.cache import TokenCache
from spotkit.auth.token import Token
from spotkit.config import Settings, load_settings
from spotkit.errors import (
    LoginCancelled,
    LoginDenied,
    LoginTimeout,
    PortInUse,
    StateMismatch,
)
from spotkit.widgets.login import LoginButton, LoginFlowLike, _smallest_image, login_button

pytest.importorskip("ipywidgets")

_COLORS_WARNING = "#a35f00"


class FakeFlow(LoginFlowLike):
    """The parts of LoginFlow the button uses (the same Protocol), driven by the test."""

    instances: ClassVar[list[FakeFlow]] = []
    done: bool = False  # a plain attribute where LoginFlow has a read-only property

    def __init__(self, settings: Any, scopes: Any = None, show_dialog: bool = False) -> None:
        self.settings = settings
        self.scopes = scopes
        self.show_dialog = show_dialog
        self.authorize_url = f"http://accounts.test/authorize?state=s{len(self.instances)}"
        self.started: float | None = None
        self.start_error: Exception | None = None
        self.callbacks: list[Any] = []
        self.done = False
        self.display_name: str | None = None
        self.user_id: str | None = None
        self.profile: dict[str, Any] | None = {"images": []}
        self.pasted: list[str] = []
        self.paste_error: Exception | None = None
        FakeFlow.instances.append(self)

    def on_done(self, callback: Any) -> None:
        self.callbacks.append(callback)

    def start(self, timeout: float | None = 300) -> FakeFlow:
        if self.start_error is not None:
            raise self.start_error
        self.started = timeout
        return self

    def finish(self, token: Any, error: BaseException | None) -> None:
        self.done = True
        for callback in self.callbacks:
            callback(token, error)

    def succeed(self, name: str = "Ana") -> None:
        self.display_name = name
        self.finish(object(), None)

    def cancel(self) -> None:
        if not self.done:
            self.finish(None, LoginCancelled("The login was cancelled."))

    def complete_from_url(self, url: str) -> Any:
        self.pasted.append(url)
        if self.paste_error is not None:
            raise self.paste_error
        self.succeed("Pasted Person")
        return object()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={"SPOTIFY_CLIENT_ID": "a" * 32,
                              "SPOTKIT_CACHE_PATH": str(tmp_path / "tokens.json"),
                              "SPOTKIT_API_URL": "http://127.0.0.1:9/v1"}, dotenv=False)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    urls: list[str] = []

    def fake_open(url: str, *, force: bool = False) -> None:
        urls.append(url)

    monkeypatch.setattr(_runtime, "open_in_browser", fake_open)
    return urls


def make(settings: Settings, **kwargs: Any) -> tuple[LoginButton, list[FakeFlow]]:
    FakeFlow.instances = []
    kwargs.setdefault("remote", False)
    kwargs.setdefault("open_browser", False)
    button = LoginButton(settings, flow_factory=FakeFlow, **kwargs)
    return button, FakeFlow.instances


def shown(widget: Any) -> bool:
    return bool(widget.layout.display != "none")


def test_a_click_shows_the_link_starts_the_listener_and_returns(settings: Settings,
                                                              opened: list[str]) -> None:
    button, flows = make(settings, timeout=120)
    assert button._login_button.description == "Log in with Spotify"
    assert not button.logged_in
    assert button.status == ""
    button._login_button.click()
    flow = flows[0]
    assert flow.started == 120
    assert 'target="_blank"' in button._link.value
    assert flow.authorize_url in button._link.value
    assert shown(button._link)
    assert shown(button._cancel_button)
    assert button._login_button.disabled
    assert "Waiting" in button.status
    assert opened == []  # open_browser=False


def test_the_browser_opens_by_itself_only_when_asked_or_local(settings: Settings,
                                                            opened: list[str]) -> None:
    button, flows = make(settings, open_browser=True)
    button.login()
    assert opened == [flows[0].authorize_url]


def test_success_says_logged_in_as_and_offers_logout_and_switch(settings: Settings) -> None:
    button, flows = make(settings)
    button.login()
    done = threading.Thread(target=flows[0].succeed, args=("Ana <3",))  # the listener thread
    done.start()
    done.join()
    assert button.logged_in
    assert button.display_name == "Ana <3"
    assert button.status == "Logged in as Ana <3"
    assert "Ana &lt;3" in button._status.value
    assert shown(button._logout_button)
    assert shown(button._switch_button)
    assert not shown(button._login_button)
    assert not shown(button._link)
    assert not shown(button._cancel_button)


@pytest.mark.parametrize("error", [
    LoginDenied("You declined the authorization on Spotify's page (access_denied)."),
    LoginTimeout("Nobody completed the login in the browser within 300 s."),
    StateMismatch("state mismatch"),
])
def test_failures_show_and_the_button_works_again(settings: Settings, error: Exception) -> None:
    button, flows = make(settings)
    button.login()
    flows[0].finish(None, error)
    assert button.status == str(error)
    assert not button._login_button.disabled
    assert shown(button._login_button)
    assert not button.logged_in
    button.login()
    assert len(flows) == 2


def test_cancel_stops_the_listener(settings: Settings) -> None:
    button, flows = make(settings)
    button.login()
    button._cancel_button.click()
    assert flows[0].done
    assert button.status == "Login cancelled."
    assert not button._login_button.disabled


def test_a_busy_port_offers_the_paste_box(settings: Settings) -> None:
    class BusyFlow(FakeFlow):
        def start(self, timeout: float | None = 300) -> FakeFlow:
            raise PortInUse("Cannot listen on 127.0.0.1:8888 for the login callback (in use).")

    FakeFlow.instances = []
    button = LoginButton(settings, remote=False, open_browser=False, flow_factory=BusyFlow)
    button.login()
    assert "8888" in button.status
    assert shown(button._paste_box)
    assert not button._login_button.disabled
    button.submit_url("http://127.0.0.1:8888/callback?code=c&state=s0")
    deadline = time.monotonic() + 2
    while not button.logged_in and time.monotonic() < deadline:
        time.sleep(0.01)
    assert button.status == "Logged in as Pasted Person"


def test_remote_kernels_show_the_paste_box_up_front_and_do_not_listen(settings: Settings) -> None:
    button, flows = make(settings, remote=True)
    assert shown(button._paste_box)
    assert "Paste the address your browser was sent to" in button._paste_help.value
    button.login()
    assert flows[0].started is None  # no listener on the kernel's loopback address
    button._paste_text.value = "http://127.0.0.1:8888/callback?code=c&state=s0"
    button._paste_submit.click()
    deadline = time.monotonic() + 2
    while not button.logged_in and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flows[0].pasted == ["http://127.0.0.1:8888/callback?code=c&state=s0"]
    assert button.status == "Logged in as Pasted Person"


def test_remote_is_detected(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ana/")
    FakeFlow.instances = []
    button = LoginButton(settings, flow_factory=FakeFlow)
    assert button.remote
    assert button.remote_reason == "JupyterHub"
    assert not button.open_browser
    assert shown(button._paste_box)


def test_a_pasted_address_of_another_login_is_refused_and_the_flow_goes_on(
        settings: Settings) -> None:
    button, flows = make(settings, remote=True)
    button.login()
    flows[0].paste_error = StateMismatch("The pasted address does not belong to this login.")
    button.submit_url("http://127.0.0.1:8888/callback?code=c&state=other")
    deadline = time.monotonic() + 2
    while "does not belong" not in button.status and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "does not belong" in button.status
    assert not flows[0].done
    assert button.flow is flows[0]


def test_pasting_before_clicking_explains(settings: Settings) -> None:
    button, _ = make(settings, remote=True)
    button.submit_url("http://127.0.0.1:8888/callback?code=c&state=s")
    assert "first" in button.status


def test_a_new_click_abandons_the_old_flow(settings: Settings) -> None:
    button, flows = make(settings)
    button.login()
    button.login()
    assert flows[0].done  # cancelled, and its callback ignored
    assert button.flow is flows[1]
    assert "Waiting" in button.status


def test_switch_account_shows_the_dialog(settings: Settings) -> None:
    button, flows = make(settings)
    button.switch_account()
    assert flows[0].show_dialog is True


def test_without_a_client_id_the_button_explains_instead_of_raising(tmp_path: Path) -> None:
    empty = load_settings(env={"SPOTKIT_CACHE_PATH": str(tmp_path / "t.json")}, dotenv=False)
    button = LoginButton(empty, remote=False, open_browser=False, flow_factory=FakeFlow)
    assert "client id" in button.status
    assert button._login_button.disabled


def test_a_cached_login_shows_at_once_and_logout_forgets_it(settings: Settings) -> None:
    from spotkit.auth.cache import TokenCache
    from spotkit.auth.token import Token

    cache = TokenCache(settings.cache_path)
    token = Token(access_token="at", refresh_token="rt", scope=("user-read-private",),
                  expires_at=time.time() + 3600)
    cache.save(settings.require_client_id(), "ana", token, display_name="Ana")
    button = LoginButton(settings, remote=False, open_browser=False, flow_factory=FakeFlow)
    assert button.logged_in
    assert button.status == "Logged in as Ana"
    button._logout_button.click()
    assert not button.logged_in
    assert button.status == "Logged out."
    assert cache.load(settings.require_client_id()) is None
    assert shown(button._login_button)


def test_login_button_function_and_repr(settings: Settings) -> None:
    button = login_button(settings, remote=True)
    assert isinstance(button, LoginButton)
    assert button.remote
    assert repr(button) == "LoginButton(logged out)"
    assert "application/vnd.jupyter.widget-view+json" in button._repr_mimebundle_()


def test_smallest_image() -> None:
    images = [{"url": "big", "width": 300}, {"url": "small", "width": 64},
              {"url": "tiny", "width": 10}]
    assert _smallest_image(images) == "small"
    assert _smallest_image([{"url": "only"}]) == "only"
    assert _smallest_image(None) is None


# --- a real login against the sandbox --------------------------------------------------------


def test_a_real_login_through_the_sandbox(spotify_sandbox: Any, tmp_path: Path) -> None:
    sb = spotify_sandbox
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    settings = load_settings(env={**sb.env, "SPOTIFY_REDIRECT_URI": redirect,
                                  "SPOTKIT_CACHE_PATH": str(tmp_path / "tokens.json")},
                             dotenv=False)
    button = login_button(settings, remote=False, open_browser=False, timeout=30)
    button._login_button.click()
    url = button.flow.authorize_url
    with requests.Session() as browser:
        consent = browser.get(url)
        form = parse_form(consent.text)
        name, value = form.buttons["Agree"]
        answer = browser.post(sb.accounts_url + str(form.action),
                              data={**form.fields, name: value}, allow_redirects=False)
        location = answer.headers["Location"]
        assert location.startswith(redirect)
        assert parse_qs(urlsplit(location).query)["state"]
        page = browser.get(location, timeout=10)
    assert "You are logged in as" in page.text
    deadline = time.monotonic() + 5
    while not button.logged_in and time.monotonic() < deadline:
        time.sleep(0.01)
    display_name = sb.user["display_name"]
    until = f"{datetime.now(timezone.utc) + timedelta(days=183):%Y-%m}"
    assert button.status.startswith(f"Logged in as {display_name}. Login valid until {until}")
    while "<img" not in button._avatar.value and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "<img" in button._avatar.value
    assert sb.counts()["GET /v1/me"] == 1  # the avatar came from the flow's profile
    again = login_button(settings, remote=False, open_browser=False)  # the cached token
    assert again.logged_in
    assert again.status.startswith(f"Logged in as {display_name}. Login valid until {until}")


def test_an_ended_login_offers_the_button_again(spotify_sandbox: Any, tmp_path: Path) -> None:
    sb = spotify_sandbox
    settings = load_settings(env={**sb.env, "SPOTKIT_CACHE_PATH": str(tmp_path / "tokens.json")},
                             dotenv=False)
    answer = sb.issue_token()
    token = Token.from_response(answer, now=time.time() - 7200)  # an expired access token
    TokenCache(settings.cache_path).save(settings.client_id or "", sb.user["id"], token,
                                         display_name="Sandy Box")
    sb.revoke_refresh_tokens()  # the refresh answers invalid_grant, as after six months
    button = login_button(settings, remote=False, open_browser=False)
    deadline = time.monotonic() + 10
    while button.logged_in and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not button.logged_in
    assert "Log in again" in button.status
    assert "error" not in button._status.value  # no error colour: an ended login is normal
    assert button._status.value.count("#b00020") == 0
    assert button._login_button.layout.display == "flex"
    assert not button._login_button.disabled


def test_a_login_near_its_end_warns(settings: Settings) -> None:
    signed_in = time.time() - 175 * 86400  # six months end in about a week
    token = Token(access_token="at", refresh_token="rt", expires_at=time.time() + 3600,
                  authorized_at=signed_in)
    TokenCache(settings.cache_path).save(settings.client_id or "", "ana", token,
                                         display_name="Ana")
    button, _ = make(settings, check_cache=True)
    assert button.logged_in
    assert "ends soon, log in again before then" in button.status
    assert _COLORS_WARNING in button._status.value
