"""An enrichment in a background thread, so a notebook keeps working while it runs.

The handle owns the thread (one owner, one stop event); the thread never prints or displays.
In a notebook the progress bar is a widget made here, in the caller's thread, whose values the
thread then changes; elsewhere there is no bar and :attr:`EnrichHandle.progress` says how it goes.
"""

from __future__ import annotations

import threading
from typing import Any

from ..logs import logger as _root_logger
from .job import Enrichment, EnrichProgress, _bar

__all__ = ["EnrichHandle"]

log = _root_logger.getChild("enrich")


class EnrichHandle:
    """A running :func:`spotkit.enrich`: watch it, stop it, take its result.

    >>> job = spotkit.enrich(frame, background=True)
    >>> job.progress          # EnrichProgress(state='running', done=120, total=2400, ...)
    >>> job.stop()            # ends after the call in flight; everything fetched is kept
    >>> frame = job.result()  # what is known so far (all of it once done)
    """

    def __init__(self, job: Enrichment, progress: bool | None = None) -> None:
        from .._runtime import start_daemon, stop_at_exit

        self._job = job
        self._bar = _bar(progress, notebook_only=True)
        self._thread = start_daemon(self._run, "spotkit-enrich")
        stop_at_exit(self)

    def _run(self) -> None:
        try:
            self._job.run(self._bar)
        except BaseException as exc:  # kept for result(); a thread has nobody to raise to
            log.debug("enrichment ended: %s", type(exc).__name__)
        finally:
            if self._bar is not None:
                self._bar.close()
            from .._runtime import forget_at_exit

            forget_at_exit(self)

    def __repr__(self) -> str:
        return f"<EnrichHandle {self.progress}>"

    @property
    def progress(self) -> EnrichProgress:
        """Where the run stands (items done and left, 429s, an estimate of the time left)."""
        return self._job.progress

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 5.0) -> None:
        """End the run after the call in flight; waits up to `timeout` seconds for the thread."""
        self._job.stop()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> Any:
        """The input with the columns added, once the run has ended (stopped: what is known).

        Raises:
            TimeoutError: the run is still going after `timeout` seconds.
            SpotkitError: what ended the run early (a long rate limit, a network failure...);
                everything fetched before it is cached.
        """
        if not self.wait(timeout):
            raise TimeoutError(f"the enrichment is still running ({self.progress}); call "
                               "result() again later, or stop() it first")
        if self._job.error is not None:
            raise self._job.error
        return self._job.result()
