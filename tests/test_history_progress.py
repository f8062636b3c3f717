"""Progress bars only for big jobs, and only where someone can see them."""

from __future__ import annotations

import pytest

from spotkit.history.progress import PROGRESS_THRESHOLD, progress_bar


def test_small_jobs_and_disabled_bars_are_silent(capsys: pytest.CaptureFixture[str]) -> None:
    for bar in (progress_bar(10, "x"), progress_bar(10**6, "x", enabled=False)):
        bar.update(5)
        bar.close()
    assert type(progress_bar(10, "x")).__name__ == "_NoProgress"
    assert capsys.readouterr().err == ""


def test_big_jobs_use_tqdm_hidden_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress_bar(PROGRESS_THRESHOLD, "Importing")
    assert type(bar).__module__.startswith("tqdm")
    bar.update(PROGRESS_THRESHOLD)
    bar.close()
    assert capsys.readouterr().err == ""  # stderr is not a terminal here: tqdm stays quiet


def test_forced_bars_draw(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress_bar(3, "Exporting", enabled=True)
    bar.update(3)
    bar.close()
    assert "Exporting" in capsys.readouterr().err
