"""The tutorials shipped with spotkit, and the copy `spotkit demo` makes of them outside a clone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from spotkit.errors import ConfigError
from spotkit.tutorial_files import (
    MANIFEST,
    clone_notebooks,
    copy_tutorials,
    packaged_tutorials,
    tutorial_names,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    src = tmp_path / "shipped"
    src.mkdir()
    (src / "01-a.ipynb").write_text('{"v": 1}')
    (src / "02-b.ipynb").write_text('{"v": 1}')
    (src / "sanitize.cfg").write_text("[x]\n")
    (src / "notes.txt").write_text("not a tutorial")
    return src


def test_in_a_clone_the_tutorials_are_the_top_level_notebooks() -> None:
    assert clone_notebooks() == ROOT / "notebooks"
    assert packaged_tutorials() == ROOT / "notebooks"
    assert tutorial_names(packaged_tutorials())[0] == "01-login.ipynb"


def test_a_first_copy_copies_every_tutorial_and_the_sanitize_file(shipped: Path, tmp_path: Path) -> None:
    dest = tmp_path / "spotkit-tutorials"
    report = copy_tutorials(shipped, dest)
    assert report.copied == ["01-a.ipynb", "02-b.ipynb", "sanitize.cfg"]
    assert sorted(p.name for p in dest.iterdir()) == [MANIFEST, "01-a.ipynb", "02-b.ipynb", "sanitize.cfg"]
    assert report.lines() == [f"Copied 3 files (01-a.ipynb, 02-b.ipynb, sanitize.cfg) into {dest}."]
    assert copy_tutorials(shipped, dest).lines() == []  # a second run has nothing to do


def test_a_file_the_user_changed_is_kept_and_said_so(shipped: Path, tmp_path: Path) -> None:
    dest = tmp_path / "t"
    copy_tutorials(shipped, dest)
    (dest / "01-a.ipynb").write_text('{"mine": true}')
    (shipped / "01-a.ipynb").write_text('{"v": 2}')  # a newer spotkit
    report = copy_tutorials(shipped, dest)
    assert (dest / "01-a.ipynb").read_text() == '{"mine": true}'
    assert report.kept == ["01-a.ipynb"]
    assert "Kept your changed 01-a.ipynb" in report.lines()[0]
    assert "--fresh" in report.lines()[0]
    # and it stays the user's on the run after, too
    assert copy_tutorials(shipped, dest).kept == ["01-a.ipynb"]


def test_an_unchanged_copy_follows_a_newer_spotkit(shipped: Path, tmp_path: Path) -> None:
    dest = tmp_path / "t"
    copy_tutorials(shipped, dest)
    (shipped / "02-b.ipynb").write_text('{"v": 2}')
    report = copy_tutorials(shipped, dest)
    assert report.updated == ["02-b.ipynb"]
    assert (dest / "02-b.ipynb").read_text() == '{"v": 2}'


def test_fresh_puts_the_original_back_and_keeps_the_users_version(shipped: Path, tmp_path: Path) -> None:
    dest = tmp_path / "t"
    copy_tutorials(shipped, dest)
    (dest / "01-a.ipynb").write_text('{"mine": true}')
    report = copy_tutorials(shipped, dest, fresh=True)
    assert (dest / "01-a.ipynb").read_text() == '{"v": 1}'
    [(name, backup)] = report.backups.items()
    assert name == "01-a.ipynb"
    assert backup.startswith("01-a.backup-")
    assert backup.endswith(".ipynb")
    assert (dest / backup).read_text() == '{"mine": true}'
    assert backup in report.lines()[0]


def test_a_file_already_there_that_spotkit_never_wrote_is_not_overwritten(shipped: Path,
                                                                         tmp_path: Path) -> None:
    dest = tmp_path / "t"
    dest.mkdir()
    (dest / "01-a.ipynb").write_text("someone else's notebook")
    (dest / MANIFEST).write_text("{ damaged")
    report = copy_tutorials(shipped, dest)
    assert (dest / "01-a.ipynb").read_text() == "someone else's notebook"
    assert report.kept == ["01-a.ipynb"]
    assert json.loads((dest / MANIFEST).read_text())["02-b.ipynb"]  # the manifest was written anew


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_one_clear_error(shipped: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with pytest.raises(ConfigError, match=r"Cannot copy the tutorials into .*locked"):
        copy_tutorials(shipped, locked / "spotkit-tutorials")


def test_a_file_where_the_folder_should_be_is_one_clear_error(shipped: Path, tmp_path: Path) -> None:
    (tmp_path / "spotkit-tutorials").write_text("a file")
    with pytest.raises(ConfigError, match=r"Cannot copy the tutorials into .*spotkit-tutorials"):
        copy_tutorials(shipped, tmp_path / "spotkit-tutorials")
