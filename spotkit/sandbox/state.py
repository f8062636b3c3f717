"""Everything one sandbox knows, behind one lock."""

from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .accounts import Accounts, App
from .catalogue import Catalogue, spotify_id
from .faults import FaultQueue
from .library import Library, LibraryOptions
from .player import Clock, Player
from .ratelimit import RollingWindow
from .requestlog import RequestLog

__all__ = ["DEFAULT_REDIRECT_URIS", "Config", "SandboxState"]

DEFAULT_REDIRECT_URIS = (
    "http://127.0.0.1:8888/callback",
    "http://127.0.0.1/callback",  # loopback without a port: any port matches
    "http://[::1]/callback",
)


@dataclass
class Config:
    """Constructor options of a Sandbox."""

    speed: float = 1.0
    rotate_refresh_tokens: bool = True
    premium: bool = True
    access_token_ttl: int = 3600
    code_ttl: float = 300.0
    seed_history: int = 30
    auto_consent: bool = False
    playing: bool = True
    legacy_fields: bool = True
    client_id: str | None = None
    client_secret: str | None = None
    app_name: str = "spotkit (sandbox)"
    display_name: str = "Sandy Box"
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    seed: int | None = None
    library: LibraryOptions = field(default_factory=LibraryOptions)
    extra: dict[str, Any] = field(default_factory=dict)


class SandboxState:
    """The accounts service, the player, the user, faults and the request log of one sandbox."""

    def __init__(self, config: Config, base_url: str) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.base_url = base_url
        self.catalogue = Catalogue(base_url, legacy_fields=config.legacy_fields)
        self.clock = Clock(config.speed)
        rng = random.Random(config.seed)
        self.player = Player(self.catalogue, self.clock, config.seed_history,
                             playing=config.playing, rng=rng)
        self.device_id = secrets.token_hex(20)
        app = App(
            client_id=config.client_id or secrets.token_hex(16),
            client_secret=config.client_secret or secrets.token_hex(16),
            name=config.app_name,
            redirect_uris=list(config.redirect_uris),
        )
        self.accounts = Accounts(
            app,
            access_token_ttl=config.access_token_ttl,
            code_ttl=config.code_ttl,
            rotate_refresh_tokens=config.rotate_refresh_tokens,
            auto_consent=config.auto_consent,
        )
        uid = "sandbox-" + secrets.token_hex(4)
        self.user: dict[str, Any] = {
            "id": uid,
            "account_id": spotify_id("account:" + uid)[:10],
            "display_name": config.display_name,
            "product": "premium" if config.premium else "free",
            "country": "SE",
            "email": f"{uid}@sandbox.invalid",
            "followers": 0,
        }
        self.faults = FaultQueue()
        self.rate_limit: RollingWindow | None = None  # off until switched on
        self.log = RequestLog()
        self.started = time.time()
        self._library: Library | None = None
        # path prefix -> seconds every answer under it is delayed (longest prefix wins)
        self.latency: dict[str, float] = {}

    @property
    def library(self) -> Library:
        """The user's library, generated on first use (most sandboxes never read it)."""
        if self._library is None:
            self._library = Library(self.user["id"], self.user["display_name"],
                                    self.player.sync(), self.config.seed, self.config.library)
        return self._library

    def latency_for(self, path: str) -> float:
        """The injected delay of `path`: that of the longest matching prefix, else 0."""
        best = max((p for p in self.latency if path.startswith(p)), key=len, default=None)
        return self.latency[best] if best is not None else 0.0

    def user_view(self) -> dict[str, Any]:
        """The user as Sandbox.user shows it: id, display_name, product, images, ..."""
        body = self.catalogue.user(self.user)
        body["product"] = self.user["product"]
        return body
