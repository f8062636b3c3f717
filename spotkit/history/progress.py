"""Progress bars for long imports and exports: tqdm.auto (a widget in notebooks), or nothing."""

from __future__ import annotations

from typing import Protocol, cast

__all__ = ["PROGRESS_THRESHOLD", "Progress", "progress_bar"]

#: Jobs with fewer items than this never show a bar.
PROGRESS_THRESHOLD = 20_000


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...
    def close(self) -> None: ...


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, desc: str, enabled: bool | None = None, unit: str = "play") -> Progress:
    """A bar over `total` items. `enabled=None`: only for big jobs, and only where someone sees it.

    tqdm's ``disable=None`` hides the bar when stderr is not a terminal (pipes, CI, tests); the
    notebook flavour that tqdm.auto picks inside Jupyter always shows its widget.
    """
    if enabled is False or (enabled is None and total < PROGRESS_THRESHOLD):
        return _NoProgress()
    from tqdm.auto import tqdm

    return cast(Progress, tqdm(total=total, desc=desc, unit=unit, unit_scale=True,
                               disable=None if enabled is None else False, leave=False))
