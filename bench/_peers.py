"""How spotipy and tekore are pointed at the sandbox, and the worker for the refresh-contention runs.

Neither peer's code is patched or monkeypatched. What each offers:

- spotipy has no constructor argument or environment variable for either base URL. Both are
  public (non-underscored) attributes that spotipy reads through `self` on every request:
  ``Spotify.prefix`` (set in ``Spotify.__init__``, default ``https://api.spotify.com/v1/``) and
  ``SpotifyPKCE.OAUTH_TOKEN_URL`` / ``SpotifyOAuth.OAUTH_TOKEN_URL`` (class attributes). We assign
  them on our own instances after construction; no function is replaced.
- tekore has no setting for either URL at all: they are constants in private modules
  (``tekore._client.base.prefix``, ``tekore._auth.expiring.client.OAUTH_TOKEN_URL``); changing
  those would be patching. Its public extension point for the transport is the Sender
  (``tk.ExtendingSender``, documented for retrying / caching senders). :func:`tekore_sender`
  returns one that swaps the two Spotify origins for the sandbox's and hands the request to
  tekore's own ``SyncSender`` (an ``httpx.Client``: keep-alive).

    python bench/_peers.py contend --client spotipy --mode shared --conf '{...}'

runs 16 threads that each ask for what plays now, on an expired token, and prints a JSON summary
(bench_peers.py drives it in a fresh process per round).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

# only what spotipy and tekore import anyway: the cold-start runs import this module too

SPOTIFY_API = "https://api.spotify.com/v1/"
SPOTIFY_ACCOUNTS = "https://accounts.spotify.com/"
THREADS = 16

_sender_class: Any = None


def spotipy_client(api_url: str, *, token: str | None = None, auth_manager: Any = None) -> Any:
    """A spotipy.Spotify (its own keep-alive Session) whose API base URL is the sandbox's."""
    import spotipy

    sp = spotipy.Spotify(auth=token, auth_manager=auth_manager, requests_session=True)
    sp.prefix = api_url.rstrip("/") + "/"
    return sp


def spotipy_pkce(accounts_url: str, client_id: str, redirect_uri: str, cache_path: str,
                 scope: str) -> Any:
    """SpotifyPKCE with a CacheFileHandler, its token endpoint on the sandbox, no browser."""
    from spotipy.oauth2 import CacheFileHandler, SpotifyPKCE

    auth = SpotifyPKCE(client_id=client_id, redirect_uri=redirect_uri, scope=scope,
                       cache_handler=CacheFileHandler(cache_path=cache_path), open_browser=False)
    auth.OAUTH_TOKEN_URL = accounts_url.rstrip("/") + "/api/token"
    return auth


def tekore_sender(api_url: str, accounts_url: str) -> Any:
    """A tekore Sender that sends Spotify's URLs to the sandbox (see the module docstring)."""
    global _sender_class
    if _sender_class is None:
        import tekore as tk

        class SandboxSender(tk.ExtendingSender):  # type: ignore[misc]
            def __init__(self, origins: tuple[tuple[str, str], ...]) -> None:
                super().__init__(tk.SyncSender())
                self.origins = origins

            def send(self, request: Any) -> Any:
                url = request.url
                for old, new in self.origins:
                    if url.startswith(old):
                        request.url = new + url[len(old):]
                        break
                return self.sender.send(request)

        _sender_class = SandboxSender
    return _sender_class(((SPOTIFY_API, api_url.rstrip("/") + "/"),
                          (SPOTIFY_ACCOUNTS, accounts_url.rstrip("/") + "/")))


# --- refresh contention worker ---------------------------------------------------------------


def _spotkit_calls(conf: dict[str, Any], mode: str) -> list[Callable[[], Any]]:
    from spotkit.auth.tokens import TokenManager
    from spotkit.client import Spotify
    from spotkit.config import load_settings

    settings = load_settings(env=conf["env"], dotenv=False)
    if mode == "shared":
        client = Spotify(settings, auth=TokenManager(settings))
        return [client.now_playing] * THREADS
    return [Spotify(settings, auth=TokenManager(settings)).now_playing for _ in range(THREADS)]


def _spotipy_calls(conf: dict[str, Any], mode: str) -> list[Callable[[], Any]]:
    def make() -> Callable[[], Any]:
        auth = spotipy_pkce(conf["accounts_url"], conf["client_id"], conf["redirect_uri"],
                            conf["spotipy_cache"], conf["scope"])
        sp = spotipy_client(conf["api_url"], auth_manager=auth)
        return lambda: sp.currently_playing(additional_types="track,episode")

    if mode == "shared":
        return [make()] * THREADS
    return [make() for _ in range(THREADS)]


def _tekore_calls(conf: dict[str, Any], mode: str) -> list[Callable[[], Any]]:
    import tekore as tk

    if mode != "shared":
        raise SystemExit("tekore keeps tokens in memory only: there is no shared token store")
    sender = tekore_sender(conf["api_url"], conf["accounts_url"])
    answer = dict(conf["answer"], expires_in=-5)  # already expired
    token = tk.RefreshingToken(tk.Token(answer, uses_pkce=True),
                               tk.Credentials(conf["client_id"], sender=sender))
    sp = tk.Spotify(token, sender=sender)
    return [sp.playback_currently_playing] * THREADS


def contend(client: str, mode: str, conf: dict[str, Any]) -> dict[str, Any]:
    """16 threads released together, each asking once for what plays now; outcomes by kind."""
    makers = {"spotkit": _spotkit_calls, "spotipy": _spotipy_calls, "tekore": _tekore_calls}
    calls = makers[client](conf, mode)
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    examples: dict[str, str] = {}
    lock = threading.Lock()

    def work(call: Callable[[], Any]) -> None:
        try:
            barrier.wait(30)
            result = call()
            outcome = "ok" if result is not None else "empty"
        except BaseException as exc:
            outcome = type(exc).__name__
            with lock:
                examples.setdefault(outcome, " ".join(str(exc).split())[:300])
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(call,), daemon=True) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    from collections import Counter

    counts = Counter(outcomes)
    return {"ok": counts.pop("ok", 0), "failed": dict(counts), "examples": examples,
            "threads": THREADS, "finished": len(outcomes)}


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    from pathlib import Path

    parser = argparse.ArgumentParser(description="refresh-contention worker (see module doc)")
    parser.add_argument("what", choices=("contend",))
    parser.add_argument("--client", choices=("spotkit", "spotipy", "tekore"), required=True)
    parser.add_argument("--mode", choices=("shared", "each"), required=True)
    parser.add_argument("--conf", required=True, help="JSON, or @file with JSON")
    args = parser.parse_args(argv)
    raw = Path(args.conf[1:]).read_text() if args.conf.startswith("@") else args.conf
    print(json.dumps(contend(args.client, args.mode, json.loads(raw))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
