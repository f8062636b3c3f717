"""Where the tutorial notebooks are, and a copy of them that a person can edit.

The notebooks live once, in the repository's top-level `notebooks/`; the build ships them inside
the package as `spotkit/tutorials/` (see setup.py). In a clone `spotkit demo` opens them in place;
from an installed wheel it copies them into a folder of the user's (`./spotkit-tutorials`).

A copy never destroys work: a file the user changed since spotkit copied it is kept as it is, and
even `fresh=True` first moves it aside to a dated backup. spotkit tells the two apart with a small
manifest in the folder that records the hash of each file as it was copied.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

__all__ = ["MANIFEST", "CopyReport", "clone_notebooks", "copy_tutorials", "packaged_tutorials",
           "tutorial_names"]

#: the file in a copied folder that remembers what spotkit wrote there
MANIFEST = ".spotkit-tutorials.json"
_PACKAGE_DIR = Path(__file__).resolve().parent


def clone_notebooks() -> Path | None:
    """`notebooks/` of the clone this spotkit runs from (an editable install), else None."""
    root = _PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root / "notebooks"
    return None


def packaged_tutorials() -> Path:
    """The tutorials shipped with spotkit: inside the installed package, or the clone's `notebooks/`.

    Raises:
        ConfigError: neither is there (a broken installation).
    """
    shipped = _PACKAGE_DIR / "tutorials"
    if any(shipped.glob("*.ipynb")):
        return shipped
    clone = clone_notebooks()
    if clone is not None:
        return clone
    raise ConfigError(f"spotkit's tutorials are missing from {shipped}: reinstall spotkit "
                      "(pip install --force-reinstall spotkit).")


def tutorial_names(folder: Path) -> list[str]:
    """The notebooks in `folder`, in reading order (their names start with their number)."""
    return sorted(path.name for path in folder.glob("*.ipynb"))


@dataclass
class CopyReport:
    """What :func:`copy_tutorials` did to each file, by name."""

    folder: Path
    copied: list[str] = field(default_factory=list)    # new in the folder
    updated: list[str] = field(default_factory=list)   # unchanged by the user, replaced by a newer one
    kept: list[str] = field(default_factory=list)      # changed by the user, left alone
    backups: dict[str, str] = field(default_factory=dict)  # name -> backup, with fresh=True

    def lines(self) -> list[str]:
        """What happened, in sentences for a terminal."""
        out = []
        if self.copied:
            out.append(f"Copied {_files(self.copied)} into {self.folder}.")
        if self.updated:
            out.append(f"Updated {_files(self.updated)} to this version of spotkit.")
        for name in self.kept:
            out.append(f"Kept your changed {name} (run `spotkit demo --fresh` for the original; "
                       "yours is then kept as a backup).")
        for name, backup in self.backups.items():
            out.append(f"Put the original {name} back; your version is now {backup}.")
        return out


def copy_tutorials(source: Path, folder: Path, *, fresh: bool = False) -> CopyReport:
    """Copy the tutorials (`*.ipynb` and the `sanitize.cfg` the tests use) from `source` into `folder`.

    A missing file is copied; a file still as spotkit copied it is brought up to date; a file the
    user changed is kept, or with `fresh=True` moved to `<name>.backup-<time><suffix>` first.

    Args:
        source: the shipped tutorials (see :func:`packaged_tutorials`).
        folder: where to copy them; created if needed.
        fresh: replace changed files with the originals (after backing them up).

    Returns:
        What happened to each file.

    Raises:
        ConfigError: `folder` exists but is not a folder, or cannot be written.
    """
    report = CopyReport(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        manifest = _read_manifest(folder)
        for src in sorted([*source.glob("*.ipynb"), source / "sanitize.cfg"]):
            if src.is_file():
                manifest[src.name] = _copy_one(src, folder / src.name, manifest.get(src.name),
                                               fresh, report)
        _write_atomically(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    except OSError as exc:
        raise ConfigError(f"Cannot copy the tutorials into {folder}: {exc.strerror or exc}. "
                          "Run `spotkit demo` in a folder you can write to.") from None
    return report


def _copy_one(src: Path, dest: Path, copied_hash: str | None, fresh: bool, report: CopyReport) -> str:
    """Bring `dest` up to date with `src` unless the user changed it; the hash of what spotkit wrote."""
    data = src.read_bytes()
    new_hash = _sha256(data)
    if not dest.exists():
        report.copied.append(dest.name)
    else:
        current = _sha256(dest.read_bytes())
        if current == new_hash:
            return new_hash
        if current != copied_hash:  # the user's own work (or a file spotkit never wrote)
            if not fresh:
                report.kept.append(dest.name)
                return copied_hash or ""
            backup = dest.with_name(f"{dest.stem}.backup-{time.strftime('%Y%m%d-%H%M%S')}{dest.suffix}")
            os.replace(dest, backup)
            report.backups[dest.name] = backup.name
        else:
            report.updated.append(dest.name)
    _write_atomically(dest, data)
    return new_hash


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no manifest (or a damaged one): every differing file counts as the user's
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(data, dict) else {}


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(names: list[str]) -> str:
    return f"{len(names)} file{'' if len(names) == 1 else 's'} ({', '.join(names)})"
