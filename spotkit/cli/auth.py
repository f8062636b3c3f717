"""`spotkit login`, `spotkit whoami` and `spotkit logout`."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, Any

from ..config import load_settings
from ..errors import MalformedResponse, NetworkError, RateLimited, ServerError

if TYPE_CHECKING:
    from ..auth.token import Token

__all__ = ["register"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "login", help="log in to Spotify in the browser and cache the token",
        description="Log in once: opens Spotify's consent page, receives the redirect on the "
                    "loopback address of SPOTIFY_REDIRECT_URI and caches the token, which is "
                    "refreshed automatically from then on.")
    p.add_argument("--no-browser", action="store_true",
                   help="only print the address to open (do not start a browser)")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S",
                   help="give up after S seconds (default 300)")
    p.add_argument("--scopes", nargs="+", metavar="SCOPE",
                   help="scopes to request instead of the defaults (or SPOTKIT_SCOPES)")
    p.add_argument("--show-dialog", action="store_true",
                   help="show Spotify's consent page even if you agreed before "
                        "(e.g. to switch accounts)")
    p.set_defaults(func=_login)

    p = subparsers.add_parser("whoami", help="show who is logged in")
    p.set_defaults(func=_whoami)

    p = subparsers.add_parser("logout", help="remove the cached token")
    p.set_defaults(func=_logout)


def _login(args: argparse.Namespace) -> int:
    from ..auth.login import LoginFlow

    scopes = " ".join(args.scopes) if args.scopes else None
    settings = load_settings(scopes=scopes)
    flow = LoginFlow(settings, show_dialog=args.show_dialog)
    flow.run(open_browser=not args.no_browser, timeout=args.timeout)
    print(f"Logged in as {flow.display_name}")
    print(f"The token is cached in {settings.cache_path}")
    return 0


def _whoami(args: argparse.Namespace) -> int:
    from ..auth.tokens import TokenManager
    from ..client import Spotify

    settings = load_settings()
    manager = TokenManager(settings)
    try:  # nobody logged in: LoginRequired, exit 1 with its advice
        with Spotify(settings, auth=manager) as client:
            profile = client.me()  # a 401 is refreshed once by the client, like every call
    except (NetworkError, ServerError, RateLimited, MalformedResponse) as exc:
        print(f"Logged in as {manager.display_name or manager.user_id} (user id "
              f"{manager.user_id}, from the token cache)")
        print(f"spotkit: Spotify could not be reached to confirm the login: {exc}",
              file=sys.stderr)
        return 1
    token = manager.token()
    name = profile.get("display_name") or profile.get("id")
    print(f"Logged in as {name} (user id {profile.get('id')})")
    print(f"Scopes: {' '.join(token.scope) or '(none)'}")
    minutes = max(0, int((token.expires_at - time.time()) // 60))
    print(f"Access token valid for {minutes} more minutes (refreshed automatically)")
    print(login_validity(token))
    print(f"Token cache: {settings.cache_path}")
    return 0


def login_validity(token: Token) -> str:
    """The line saying until when the login works (refresh tokens last six months)."""
    until = token.valid_until
    if until is None:
        return ("Login valid until: unknown (this login predates spotkit recording when you "
                "signed in; run `spotkit login` to start a new six-month login)")
    line = f"Login valid until {until:%Y-%m-%d} (six months after you signed in)"
    if token.login_ends_soon():
        line += ": it ends soon, run `spotkit login` before then"
    return line


def _logout(args: argparse.Namespace) -> int:
    from ..auth.tokens import TokenManager

    settings = load_settings()
    removed = TokenManager(settings).logout()
    if removed is None:
        print(f"Not logged in: no cached token for this app in {settings.cache_path}")
        return 0
    print(f"Logged out {removed.display_name or removed.user_id}: removed the cached token from "
          f"{settings.cache_path}")
    print("To revoke spotkit's access on Spotify's side too, remove the app at "
          "https://www.spotify.com/account/apps/")
    return 0
