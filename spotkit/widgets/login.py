"""`login_button()`: log in to Spotify from a notebook cell without blocking the kernel.

A click starts a :class:`~spotkit.auth.login.LoginFlow`: its loopback listener waits in a
background thread while the cell has long returned. The flow's `on_done` callback (listener,
timer or paste thread) updates the widgets. On a remote kernel (JupyterHub, Colab, a server over
SSH) the browser's redirect to 127.0.0.1 lands on the user's own machine, so there the widget
shows a paste box for the address the browser was sent to instead of listening.
"""

from __future__ import annotations

import base64
import html
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .. import _runtime
from ..config import Settings, load_settings
from ..errors import (
    CacheCorrupt,
    ConfigError,
    LoginCancelled,
    LoginRequired,
    PortInUse,
    SpotkitError,
    StateMismatch,
)
from ..logs import logger, redact

if TYPE_CHECKING:
    from ..auth.login import DoneCallback
    from ..auth.token import Token
    from ..auth.tokens import TokenManager

__all__ = ["LoginButton", "LoginFlowLike", "login_button"]

_AVATAR_PX = 40
_COLORS = {"info": "#333", "ok": "#1b7f3b", "warning": "#a35f00", "error": "#b00020"}
_PASTE_LABEL = "Paste the address your browser was sent to"



class LoginFlowLike(Protocol):
    """What the button needs of a login (:class:`spotkit.auth.login.LoginFlow` is one)."""

    authorize_url: str
    display_name: str | None
    user_id: str | None
    #: the profile (``GET /me``) the flow read when it succeeded: the avatar needs no second call
    profile: dict[str, Any] | None

    @property
    def done(self) -> bool: ...

    def on_done(self, callback: DoneCallback) -> None: ...

    def start(self, timeout: float | None = ...) -> object: ...

    def cancel(self) -> None: ...

    def complete_from_url(self, pasted_url: str) -> object: ...


FlowFactory = Callable[..., LoginFlowLike]


def login_button(settings: Settings | None = None, *, scopes: Iterable[str] | str | None = None,
                 show_dialog: bool = False, remote: bool | None = None,
                 open_browser: bool | None = None, timeout: float = 300) -> LoginButton:
    """A 'Log in with Spotify' button for a notebook; display it by leaving it last in a cell.

    `remote`: None detects JupyterHub, Colab, Binder, SSH sessions without a display...; True
    shows the paste box instead of listening on the kernel's loopback address; False always
    listens. `open_browser`: None opens the authorize page by itself only when the kernel runs on
    the user's machine and a browser is there. `timeout`: seconds the listener waits.
    """
    return LoginButton(settings, scopes=scopes, show_dialog=show_dialog, remote=remote,
                       open_browser=open_browser, timeout=timeout)


class LoginButton:
    """The login widget (see :func:`login_button`); `.widget` is the ipywidgets box.

    State: `.logged_in`, `.display_name`, `.status` (the status line as text). Actions, also
    behind the buttons: `.login()`, `.cancel()`, `.logout()`, `.switch_account()`,
    `.submit_url(address)`. None of them blocks.
    """

    def __init__(self, settings: Settings | None = None, *,
                 scopes: Iterable[str] | str | None = None, show_dialog: bool = False,
                 remote: bool | None = None, open_browser: bool | None = None,
                 timeout: float = 300, check_cache: bool = True,
                 flow_factory: FlowFactory | None = None) -> None:
        import ipywidgets as w

        self.scopes = scopes
        self.show_dialog = show_dialog
        reason = _runtime.remote_reason() if remote is None else None
        self.remote = bool(reason) if remote is None else remote
        self.remote_reason = reason
        if open_browser is None:
            open_browser = not self.remote and _runtime.can_open_browser()
        self.open_browser = open_browser
        self.timeout = timeout
        self._flow_factory = flow_factory
        self._lock = threading.RLock()
        self._flow: LoginFlowLike | None = None
        self._logged_in = False
        self._display_name: str | None = None
        self._status_text = ""
        self.settings: Settings | None = None

        self._login_button = w.Button(description="Log in with Spotify", button_style="success",
                                      icon="spotify", layout=w.Layout(width="auto"))
        self._login_button.add_class("spotkit-login-button")
        self._cancel_button = w.Button(description="Cancel", icon="times",
                                       layout=w.Layout(width="auto", display="none"))
        self._cancel_button.add_class("spotkit-login-cancel")
        self._logout_button = w.Button(description="Log out", icon="sign-out",
                                       layout=w.Layout(width="auto", display="none"))
        self._logout_button.add_class("spotkit-login-logout")
        self._switch_button = w.Button(description="Switch account", icon="exchange",
                                       layout=w.Layout(width="auto", display="none"))
        self._switch_button.add_class("spotkit-login-switch")
        self._avatar = w.HTML("", layout=w.Layout(margin="0 8px 0 0", display="none"))
        self._avatar.add_class("spotkit-login-avatar")
        self._status = w.HTML("")
        self._status.add_class("spotkit-login-status")
        self._link = w.HTML("", layout=w.Layout(display="none"))
        self._link.add_class("spotkit-login-link")
        self._paste_text = w.Text(placeholder="http://127.0.0.1:8888/callback?code=…&state=…",
                                  layout=w.Layout(width="32em"))
        self._paste_text.add_class("spotkit-login-paste-text")
        self._paste_submit = w.Button(description="Submit", layout=w.Layout(width="auto"))
        self._paste_submit.add_class("spotkit-login-paste-submit")
        self._paste_help = w.HTML("")
        self._paste_box = w.VBox([self._paste_help, w.HBox([self._paste_text, self._paste_submit])],
                                 layout=w.Layout(display="none"))
        self._paste_box.add_class("spotkit-login-paste")

        self._login_button.on_click(lambda _b: self.login())
        self._cancel_button.on_click(lambda _b: self.cancel())
        self._logout_button.on_click(lambda _b: self.logout())
        self._switch_button.on_click(lambda _b: self.switch_account())
        self._paste_submit.on_click(lambda _b: self.submit_url(self._paste_text.value))

        self.widget = w.VBox([
            w.HBox([self._login_button, self._cancel_button, self._logout_button,
                    self._switch_button]),
            w.HBox([self._avatar, self._status], layout=w.Layout(align_items="center")),
            self._link,
            self._paste_box,
        ])
        self.widget.add_class("spotkit-login")

        try:
            self.settings = settings if settings is not None else load_settings()
            self.settings.require_client_id()
        except ConfigError as exc:
            self._set_status(str(exc), "error")
            self._login_button.disabled = True
            return
        if self.remote:
            where = f" ({self.remote_reason})" if self.remote_reason else ""
            self._show_paste(f"This kernel runs on another machine{where}: after you agree, your "
                             "browser cannot reach it. Click 'Log in with Spotify', agree, then "
                             f"{_PASTE_LABEL[0].lower()}{_PASTE_LABEL[1:]} here.")
        if check_cache:
            self._check_cache()

    # --- public state ---------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        return self._logged_in

    @property
    def display_name(self) -> str | None:
        return self._display_name

    @property
    def status(self) -> str:
        """The status line as plain text."""
        return self._status_text

    @property
    def flow(self) -> LoginFlowLike | None:
        """The login in progress (a LoginFlow), or None."""
        return self._flow

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        who = f"logged in as {self._display_name!r}" if self._logged_in else "logged out"
        return f"LoginButton({who})"

    def close(self) -> None:
        """Cancel a login in progress and remove the widget."""
        self.cancel()
        _runtime.close_widget_tree(self.widget)

    # --- actions (kernel thread: none of them blocks) ---------------------------------------------

    def login(self, show_dialog: bool | None = None) -> None:
        """Start a login: show the link, listen for the callback (or wait for a paste)."""
        if self.settings is None:
            return
        self._abandon_flow()
        dialog = self.show_dialog if show_dialog is None else show_dialog
        try:
            flow = self._new_flow(dialog)
        except SpotkitError as exc:
            self._set_status(str(exc), "error")
            return
        with self._lock:
            self._flow = flow
        url = str(flow.authorize_url)
        self._link.value = (f'<a href="{html.escape(url, quote=True)}" target="_blank" '
                            'rel="noopener" class="spotkit-login-authorize" '
                            'style="color:#1a73e8;text-decoration:underline">'
                            "Open Spotify's login page</a> (a new tab)")
        self._link.layout.display = "flex"
        self._login_button.disabled = True
        self._logout_button.layout.display = "none"
        self._switch_button.layout.display = "none"
        self._cancel_button.layout.display = "flex"
        flow.on_done(lambda token, error: self._finished(flow, token, error))
        if self.remote:
            self._set_status("Open Spotify's login page, agree, then paste the address your "
                             "browser ends on below.", "info")
            self._paste_text.value = ""
            return
        try:
            flow.start(timeout=self.timeout)
        except (PortInUse, ConfigError) as exc:
            # no listener: the paste box still completes this login
            self._show_paste("The browser's redirect cannot reach spotkit here. After you agree, "
                             f"{_PASTE_LABEL[0].lower()}{_PASTE_LABEL[1:]} (it fails to load; "
                             "that is expected).")
            self._set_status(f"{exc}", "warning")
            self._login_button.disabled = False  # to try again once the port is free
            return
        except SpotkitError as exc:
            self._set_status(str(exc), "error")
            self._reset_buttons()
            return
        self._show_paste("If the page after Agree does not load (the kernel runs on another "
                         f"machine), {_PASTE_LABEL[0].lower()}{_PASTE_LABEL[1:]} here.")
        self._set_status("Waiting for you to agree in the browser…", "info")
        if self.open_browser:
            _runtime.open_in_browser(url, force=True)

    def cancel(self) -> None:
        """Stop waiting for the login (closes the listener)."""
        flow = self._flow
        if flow is not None and not flow.done:
            flow.cancel()  # on_done reports it

    def logout(self) -> None:
        """Forget the cached token of the current user."""
        if self.settings is None:
            return
        self._abandon_flow()
        try:
            from ..auth.tokens import TokenManager

            TokenManager(self.settings).logout()
        except SpotkitError as exc:
            self._set_status(str(exc), "error")
            return
        with self._lock:
            self._logged_in = False
            self._display_name = None
        self._avatar.layout.display = "none"
        self._set_status("Logged out.", "info")
        self._reset_buttons()

    def switch_account(self) -> None:
        """Log in again with Spotify's dialog shown, so another account can be picked."""
        self.login(show_dialog=True)

    def submit_url(self, address: str) -> None:
        """Complete the login with the address the browser was sent to (in a background thread)."""
        flow = self._flow
        if flow is None or flow.done:
            self._set_status("Click 'Log in with Spotify' first, agree, then paste the address "
                             "your browser was sent to.", "warning")
            return
        if not address.strip():
            self._set_status(f"{_PASTE_LABEL} in the box first.", "warning")
            return
        self._paste_submit.disabled = True
        self._set_status("Checking the address…", "info")
        _runtime.start_daemon(lambda: self._complete(flow, address), "spotkit-login-paste")

    # --- background work --------------------------------------------------------------------------

    def _new_flow(self, show_dialog: bool) -> LoginFlowLike:
        if self._flow_factory is not None:
            return self._flow_factory(self.settings, scopes=self.scopes, show_dialog=show_dialog)
        from ..auth.login import LoginFlow

        return LoginFlow(self.settings, scopes=self.scopes, show_dialog=show_dialog)

    def _abandon_flow(self) -> None:
        with self._lock:
            flow, self._flow = self._flow, None
        if flow is not None and not flow.done:
            flow.cancel()

    def _complete(self, flow: LoginFlowLike, address: str) -> None:
        try:
            flow.complete_from_url(address)  # success and failures also come through on_done
        except StateMismatch as exc:
            self._set_status(str(exc), "error", flow)
        except Exception as exc:
            if not flow.done:  # the flow goes on: let the user paste again
                self._set_status(redact(str(exc)), "error", flow)
        finally:
            self._paste_submit.disabled = False

    def _finished(self, flow: LoginFlowLike, token: Token | None,
                  error: BaseException | None) -> None:
        """on_done of a flow; runs in whichever thread ended it. Never raises."""
        try:
            with self._lock:
                if flow is not self._flow:
                    return  # an abandoned flow
                self._flow = None
            self._link.layout.display = "none"
            if error is None and token is not None:
                name = flow.display_name or flow.user_id
                self._logged_in_as(name or "your Spotify account", token)
                profile = flow.profile
                if profile is not None:
                    _runtime.start_daemon(lambda: self._show_avatar(profile),
                                          "spotkit-login-avatar")
                return
            if isinstance(error, LoginCancelled):
                self._set_status("Login cancelled.", "info")
            else:
                self._set_status(redact(str(error)) if error else "The login failed.", "error")
            self._reset_buttons()
        except Exception as exc:  # on_done must not raise (it would be logged to the cell)
            logger.debug("login widget update failed: %s", type(exc).__name__)

    def _logged_in_as(self, name: str, token: Token | None = None) -> None:
        with self._lock:
            self._logged_in = True
            self._display_name = name
        until = getattr(token, "valid_until", None)
        ending = until is not None and token is not None and token.login_ends_soon()
        note = ""
        if until is not None:
            note = (f"Login valid until {until:%Y-%m-%d}: it ends soon, log in again before then"
                    if ending else f"Login valid until {until:%Y-%m-%d}")
        extra = (f'<br><span style="color:{_COLORS["warning" if ending else "info"]};'
                 f'font-size:90%">{html.escape(note)}</span>' if note else "")
        self._set_status(f"Logged in as <b>{html.escape(name)}</b>{extra}",
                         "warning" if ending else "ok", raw=True,
                         text=f"Logged in as {name}" + (f". {note}" if note else ""))
        self._paste_box.layout.display = "none"
        self._link.layout.display = "none"
        self._reset_buttons()

    def _reset_buttons(self) -> None:
        logged_in = self._logged_in
        self._login_button.disabled = self.settings is None
        self._login_button.layout.display = "none" if logged_in else "flex"
        self._cancel_button.layout.display = "none"
        self._logout_button.layout.display = "flex" if logged_in else "none"
        self._switch_button.layout.display = "flex" if logged_in else "none"
        if not logged_in and not self.remote:
            self._paste_box.layout.display = "none"

    def _show_paste(self, help_text: str) -> None:
        self._paste_help.value = (f"<b>{html.escape(_PASTE_LABEL)}</b><br>"
                                  f'<span style="color:#555">{html.escape(help_text)}</span>')
        self._paste_box.layout.display = "flex"

    def _set_status(self, message: str, kind: str, flow: LoginFlowLike | None = None, *,
                    raw: bool = False,
                    text: str | None = None) -> None:
        with self._lock:
            if flow is not None and flow is not self._flow:
                return
            body = message if raw else html.escape(message)
            color = _COLORS.get(kind, _COLORS["info"])
            self._status_text = text if text is not None else message
            self._status.value = f'<span style="color:{color}">{body}</span>'

    # --- the cached login -------------------------------------------------------------------------

    def _check_cache(self) -> None:
        """Show a cached login at once (a file read), then confirm it in the background."""
        from ..auth.tokens import TokenManager

        settings = self.settings
        if settings is None:
            return
        try:
            manager = TokenManager(settings)
            entry = manager.cache.load_entry(manager.client_id)
        except CacheCorrupt as exc:
            self._set_status(str(exc), "warning")
            return
        except SpotkitError as exc:
            self._set_status(str(exc), "error")
            return
        if entry is None:
            return
        self._logged_in_as(entry.display_name or entry.user_id, entry.token)
        _runtime.start_daemon(lambda: self._confirm_cached(manager), "spotkit-login-check")

    def _confirm_cached(self, manager: TokenManager) -> None:
        """Background: refresh if needed and read the profile (for the avatar)."""
        try:
            from ..client import Spotify

            with Spotify(self.settings, auth=manager) as client:
                profile = client.me()
        except LoginRequired as exc:
            with self._lock:
                if self._flow is not None:
                    return  # a new login is under way
                self._logged_in = False
                self._display_name = None
            # an ended (invalid_grant) or revoked login is not an error: offer the login again
            self._set_status("Your saved Spotify login has ended or was revoked (logins last six "
                             "months). Log in again.", "info")
            logger.debug("the cached login no longer works: %s", exc)
            self._reset_buttons()
            return
        except Exception as exc:
            logger.debug("could not confirm the cached login: %s", type(exc).__name__)
            return
        name = profile.get("display_name") or profile.get("id")
        if self._logged_in and self._flow is None and isinstance(name, str):
            self._logged_in_as(name, manager.token())
        self._show_avatar(profile)

    def _show_avatar(self, profile: Mapping[str, Any]) -> None:
        url = _smallest_image(profile.get("images"))
        if url is None:
            self._avatar.layout.display = "none"
            return
        try:
            import requests

            resp = requests.get(url, timeout=(3.05, 5.0))
        except Exception as exc:
            logger.debug("avatar not fetched: %s", type(exc).__name__)
            return
        if resp.status_code != 200 or not resp.content:
            return
        data = resp.content
        kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
        source = f"data:image/{kind};base64,{base64.b64encode(data).decode('ascii')}"
        with self._lock:
            if not self._logged_in:
                return
            self._avatar.value = (f'<img src="{source}" alt="" width="{_AVATAR_PX}" '
                                  f'height="{_AVATAR_PX}" style="border-radius:50%;'
                                  'object-fit:cover;display:block">')
            self._avatar.layout.display = "flex"


def _smallest_image(images: object) -> str | None:
    """The URL of the smallest image at least 40 px wide (or the only one)."""
    if not isinstance(images, list):
        return None
    best: tuple[int, str] | None = None
    for image in images:
        if not isinstance(image, Mapping) or not isinstance(image.get("url"), str):
            continue
        width = image.get("width")
        size = width if isinstance(width, int) and width >= _AVATAR_PX else 10_000
        if best is None or size < best[0]:
            best = (size, image["url"])
    return best[1] if best else None
