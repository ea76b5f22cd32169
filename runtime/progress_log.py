"""A progress line for logs: what ``flame-run`` prints when stderr is not a terminal.

Under systemd, docker or a pipe the terminal status line (redrawn in place)
would be noise, and nothing at all hides a nine-minute run. :class:`ProgressLog`
writes one plain line at most every ``interval_s`` seconds: frames processed,
output fps, latency p50 of the recent frames, frames dropped.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from flame.core.errors import ConfigError, param
from flame.runtime.stream_result import FrameResult

#: Seconds between two lines by default (``flame-run --log-every``).
LOG_EVERY_S = 10.0


class ProgressLog:
    """An output writing ``flame-run: N frames, F fps, latency p50 L ms, dropped D`` at most every ``interval_s``.

    Args:
        interval_s: seconds between lines (the first comes ``interval_s`` after the first frame); 0 writes none.
        stream: where the lines go (default: stderr).
        clock: monotonic seconds (a test's clock).

    Raises:
        ConfigError: on a negative interval.
    """

    def __init__(self, interval_s: float = LOG_EVERY_S, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not interval_s >= 0:
            raise ConfigError(f"expected {param('log_every')} >= 0 seconds, found {interval_s}")
        self.interval_s = interval_s
        self._stream = stream
        self._clock = clock
        self._next: float | None = None

    def __call__(self, result: FrameResult) -> None:
        if not self.interval_s:
            return
        now = self._clock()
        if self._next is None:
            self._next = now + self.interval_s
        if now < self._next:
            return
        self._next = now + self.interval_s
        s = result.stats
        stream = self._stream or sys.stderr
        stream.write(f"flame-run: {s.processed} frames, {s.fps_out:.1f} fps, latency p50 {s.latency_ms:.1f} ms, "
                     f"dropped {s.dropped}\n")
        stream.flush()  # a log reader sees it now, not when a buffer fills

    def close(self) -> None:
        """Nothing to finish: every line is complete when written."""
