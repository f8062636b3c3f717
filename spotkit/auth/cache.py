"""The token cache: one private JSON file, written atomically, shared safely between processes.

Layout (version 1)::

    {"version": 1,
     "clients": {"<client_id>": {"current": "<user_id>",
                                 "users": {"<user_id>": {"access_token": ..., "refresh_token": ...,
                                                         "scope": "...", "expires_at": 1.7e9,
                                                         "token_type": "Bearer",
                                                         "display_name": "...", "saved_at": ...}}}}}

Two apps (client ids) or two users of one app never overwrite each other; `current` names the user
that :meth:`TokenCache.load` returns by default (the last one who logged in).

How a write stays safe:

* the file is born private: the temporary file is created with ``os.open(O_CREAT | O_EXCL, 0o600)``
  in the cache's own folder (created 0700 when spotkit creates it), so no other user can ever read
  it, not even for an instant;
* it is written whole, fsync'ed, moved over the cache with ``os.replace`` (atomic on POSIX and
  Windows), and the folder is fsync'ed, so a reader or a crash (even SIGKILL) sees either the old
  file or the new one, never half of one;
* every read-modify-write holds a cross-process lock (filelock, ``<cache>.lock`` next to it).

Temporary files are named ``.<cache name>.<pid>.<random>.tmp``. A writer removes its own on any
error; one killed mid-write (SIGKILL, power loss) leaves one behind, and the next writer, which
holds the lock and therefore knows no other write is in flight, deletes every such leftover.

A cache that cannot be read or parsed raises :class:`~spotkit.errors.CacheCorrupt` and is never
deleted: the next successful login moves it aside as ``<cache name>.corrupt-<timestamp>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AuthError, CacheCorrupt
from ..logs import logger
from .token import Token

if TYPE_CHECKING:
    import filelock

__all__ = ["CACHE_VERSION", "CachedLogin", "TokenCache"]

CACHE_VERSION = 1
_MAX_BYTES = 4 << 20  # thousands of logins fit in 4 MiB; a bigger file is not a token cache
_warned_shared: set[Path] = set()  # warn about a readable cache once per process, not per read


@dataclass(frozen=True)
class CachedLogin:
    """One user's entry in the cache."""

    client_id: str
    user_id: str
    token: Token
    display_name: str | None = None


class TokenCache:
    """The token file at `path`. Safe to share between threads and processes.

    `lock_timeout` bounds how long a write waits for another process holding the lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout = lock_timeout
        self._filelock: filelock.FileLock | None = None
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenCache({str(self.path)!r})"

    # --- locking ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the cross-process lock (re-entrant within a thread) for a read-modify-write."""
        import filelock  # only writers pay for it: reading a valid token needs no lock

        with self._guard:
            if self._filelock is None:
                _make_private_dir(self.path.parent)
                self._filelock = filelock.FileLock(self.lock_path, mode=0o600)
            lock = self._filelock
        try:
            lock.acquire(timeout=self.lock_timeout)
        except filelock.Timeout:
            raise AuthError(f"The token cache {self.path} stayed locked for more than "
                            f"{self.lock_timeout:g} s (lock file {self.lock_path}). Another "
                            "spotkit process may be stuck; stop it and try again.") from None
        try:
            yield
        finally:
            lock.release()

    # --- reading ------------------------------------------------------------------------------

    def load(self, client_id: str, user_id: str | None = None) -> Token | None:
        """The token of `user_id` (default: the client's current user), or None if there is none."""
        entry = self.load_entry(client_id, user_id)
        return entry.token if entry is not None else None

    def load_entry(self, client_id: str, user_id: str | None = None) -> CachedLogin | None:
        """The cached login of `user_id` (default: the current user), or None."""
        data = self._read()
        client = data["clients"].get(client_id)
        if client is None:
            return None
        uid = user_id if user_id is not None else client.get("current")
        if not isinstance(uid, str):
            return None
        raw = client["users"].get(uid)
        if raw is None:
            return None
        try:
            token = Token.from_json(raw)
        except OverflowError:  # an integer beyond any float, e.g. expires_at: 1e400 written out
            raise self._corrupt("a token entry's expires_at is out of range") from None
        except ValueError as exc:
            raise self._corrupt(str(exc)) from None
        name = raw.get("display_name")
        return CachedLogin(client_id, uid, token, name if isinstance(name, str) else None)

    def current_user(self, client_id: str) -> str | None:
        """The user id that `load(client_id)` returns, or None."""
        client = self._read()["clients"].get(client_id)
        current = client.get("current") if client else None
        return current if isinstance(current, str) else None

    def users(self, client_id: str) -> list[str]:
        """Every user id with a cached token for `client_id`."""
        client = self._read()["clients"].get(client_id)
        return sorted(client["users"]) if client else []

    # --- writing ------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise :class:`AuthError` naming the path when a login could not be saved here.

        Creates the folder if needed and a private temporary file in it (removed at once), so
        a login into a read-only folder, a full disk or a path under a file fails before the
        user is sent to the browser.
        """
        parent = self.path.parent
        try:
            if self.path.is_dir():
                raise IsADirectoryError(21, "it is a folder")
            _make_private_dir(parent)
            tmp = parent / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(tmp)
        except OSError as exc:
            raise AuthError(
                f"Cannot save a login to the token cache {self.path} "
                f"({exc.strerror or type(exc).__name__}). Make that folder writable, or set "
                "SPOTKIT_CACHE_PATH to a file in a writable folder, and log in again.") from None

    def save(self, client_id: str, user_id: str, token: Token, *,
             display_name: str | None = None, make_current: bool = True) -> None:
        """Store `token` for (`client_id`, `user_id`), atomically and under the lock."""
        with self.lock():
            try:
                data = self._read()
            except CacheCorrupt:
                if not self.path.is_file():
                    raise  # a folder or device where the file should be: the user decides
                self._move_aside()
                data = _empty()
            client = data["clients"].setdefault(client_id, {"current": None, "users": {}})
            old = client["users"].get(user_id)
            entry = token.to_json()
            name = display_name
            if name is None and isinstance(old, dict) and isinstance(old.get("display_name"), str):
                name = old["display_name"]
            if name is not None:
                entry["display_name"] = name
            entry["saved_at"] = time.time()
            client["users"][user_id] = entry
            if make_current or not client.get("current"):
                client["current"] = user_id
            self._write(data)

    def remove(self, client_id: str, user_id: str | None = None) -> CachedLogin | None:
        """Forget the token of `user_id` (default: the current user); returns what was removed.

        The file itself is deleted once no token is left in it.
        """
        with self.lock():
            entry = self.load_entry(client_id, user_id)
            if entry is None:
                return None
            data = self._read()
            client = data["clients"][client_id]
            del client["users"][entry.user_id]
            if client.get("current") == entry.user_id:
                client["current"] = next(iter(sorted(client["users"])), None)
            if not client["users"]:
                del data["clients"][client_id]
            if data["clients"]:
                self._write(data)
            else:
                self.path.unlink(missing_ok=True)
                _fsync_dir(self.path.parent)
            return entry

    # --- internals ----------------------------------------------------------------------------

    def _corrupt(self, reason: str) -> CacheCorrupt:
        return CacheCorrupt(
            f"The token cache {self.path} cannot be used ({reason}). It was left in place; run "
            "`spotkit login` to log in again (the damaged file is then kept as "
            f"{self.path.name}.corrupt-<time>).")

    def _read(self) -> dict[str, Any]:
        raw = self._read_bytes()
        if raw is None:
            return _empty()
        self._warn_if_shared()
        if not raw.strip():
            raise self._corrupt("it is empty")
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise self._corrupt("it is not UTF-8 text") from None
        except RecursionError:
            raise self._corrupt("its JSON is nested too deeply") from None
        except ValueError:
            raise self._corrupt("it is not valid JSON") from None
        if not isinstance(data, dict):
            raise self._corrupt("it is not a JSON object")
        version = data.get("version")
        if isinstance(version, bool) or version != CACHE_VERSION:
            if isinstance(version, int) and not isinstance(version, bool) and version > CACHE_VERSION:
                raise self._corrupt(f"it was written by a newer spotkit (format {version})")
            raise self._corrupt("it has no known format version")
        clients = data.get("clients")
        if not isinstance(clients, dict):
            raise self._corrupt("it has no 'clients' object")
        for client in clients.values():
            if (not isinstance(client, dict) or not isinstance(client.get("users"), dict)
                    or not all(isinstance(u, dict) for u in client["users"].values())):
                raise self._corrupt("a client entry is malformed")
        return data

    def _read_bytes(self) -> bytes | None:
        """The file's bytes; None if there is no file. Anything but a regular file of a sane size
        is refused before it is opened (a FIFO would block the read forever)."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._corrupt(f"it cannot be read: {exc.strerror or type(exc).__name__}") from None
        if stat.S_ISDIR(info.st_mode):
            raise CacheCorrupt(
                f"The token cache path {self.path} is a folder, not a file. Move it away or set "
                "SPOTKIT_CACHE_PATH to a file path, then run `spotkit login`.")
        if not stat.S_ISREG(info.st_mode):
            raise CacheCorrupt(
                f"The token cache path {self.path} is not a regular file (a device, pipe or "
                "socket). Remove it or set SPOTKIT_CACHE_PATH to a file path, then run "
                "`spotkit login`.")
        if info.st_size > _MAX_BYTES:
            raise self._corrupt(f"it is {info.st_size} bytes, far more than a token cache holds")
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None  # removed meanwhile (a logout in another process)
        except OSError as exc:
            raise self._corrupt(f"it cannot be read: {exc.strerror or type(exc).__name__}") from None

    def _warn_if_shared(self) -> None:
        if sys.platform == "win32":
            return
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077 and self.path not in _warned_shared:
                _warned_shared.add(self.path)
                logger.warning("the token cache %s is readable by others (mode %o); spotkit "
                               "rewrites it 0600 on the next save, or run: chmod 600 %s",
                               self.path, mode, self.path)

    def _write(self, data: dict[str, Any]) -> None:
        parent = self.path.parent
        _make_private_dir(parent)
        self._remove_leftovers()
        payload = (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")
        tmp = parent / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                 | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
        fd = os.open(tmp, flags, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                if hasattr(os, "fchmod"):
                    os.fchmod(fh.fileno(), 0o600)  # exactly 0600 whatever the umask
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(parent)

    def _remove_leftovers(self) -> None:
        """Delete temporary files of writers that died mid-write (we hold the lock: none is live)."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()
                logger.debug("removed a leftover temporary file %s", leftover.name)

    def _move_aside(self) -> None:
        target = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        with contextlib.suppress(OSError):
            os.replace(self.path, target)
            logger.warning("the damaged token cache was kept as %s", target)


def _empty() -> dict[str, Any]:
    return {"version": CACHE_VERSION, "clients": {}}


def _make_private_dir(path: Path) -> None:
    """Create `path` (and its parents) if missing; the folder spotkit creates is 0700."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (POSIX); a no-op where folders cannot be opened."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
