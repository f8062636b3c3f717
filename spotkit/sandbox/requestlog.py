"""The request log and per-endpoint counters. Tokens, codes and secrets are never stored."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

__all__ = ["RequestLog"]

MAX_ENTRIES = 10_000
_SECRET_PARAMS = frozenset({
    "access_token", "refresh_token", "code", "code_verifier", "client_secret", "token",
    "id_token", "password",
})


class RequestLog:
    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=MAX_ENTRIES)
        self._counts: Counter[str] = Counter()

    def record(self, method: str, path: str, query: Mapping[str, list[str]], status: int,
               at: float, duration_ms: float, grant_type: str | None = None,
               fault: bool = False) -> None:
        flat = {k: ("[redacted]" if k.lower() in _SECRET_PARAMS else (v[0] if v else ""))
                for k, v in query.items()}
        entry: dict[str, Any] = {"method": method, "path": path, "query": flat, "status": status,
                                 "time": at, "duration_ms": round(duration_ms, 3),
                                 "fault": fault}
        key = f"{method} {path}"
        self._counts[key] += 1
        if grant_type is not None:
            entry["grant_type"] = grant_type
            self._counts[f"{key} grant_type={grant_type}"] += 1
        self._entries.append(entry)

    def entries(self, path: str | None = None) -> list[dict[str, Any]]:
        return [dict(e, query=dict(e["query"])) for e in self._entries
                if path is None or e["path"] == path]

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def reset(self) -> None:
        self._entries.clear()
        self._counts.clear()
