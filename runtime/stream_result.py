"""What the real-time loop hands its outputs per frame, and what a run measured.

:class:`FrameResult` (with :class:`LiveStats`) goes to every :class:`Output`
after a frame's latency span closes; :class:`RunResult` keeps one record per
processed frame and turns them into the figures of a ``flame-run`` report
(:meth:`RunResult.summary`). The loop itself is :mod:`flame.runtime.stream`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from flame.core.fit import FitBox
from flame.core.latency import Latency, summarize
from flame.runtime.frames import Frame


@dataclass(frozen=True)
class LiveStats:
    """Running figures for a heads-up display (over the last few frames).

    Attributes:
        latency_ms: median latency of the recent frames.
        engine_ms: median engine time of the recent frames.
        fps_out: recent output rate.
        k: frames late at ``fps`` (None when the fps is unknown).
        fps: the source frame rate k refers to.
        processed: frames processed so far.
        dropped: frames dropped so far.
    """

    latency_ms: float
    engine_ms: float
    fps_out: float
    k: int | None
    fps: float | None
    processed: int
    dropped: int


@dataclass(frozen=True)
class FrameResult:
    """One processed frame, as outputs see it.

    Attributes:
        frame: the newest frame the labels were computed from.
        window: the frames fed to the engine, oldest first.
        labels: the engine's integer label map at the engine's input size.
        latency_ms: capture to labels in host memory.
        engine_ms: the engine call alone.
        stats: running figures.
        fit: how the frame met the input (``crop`` and ``pad``; None for a stretch): its
            :meth:`~flame.core.fit.FitBox.labels_to_frame` maps the labels back onto the frame.
    """

    frame: Frame
    window: tuple[Frame, ...]
    labels: np.ndarray
    latency_ms: float
    engine_ms: float
    stats: LiveStats
    fit: FitBox | None = None


class Output(Protocol):
    """Something that consumes results after the latency span (overlay, video, status).

    Calling it may return False to ask the loop to stop (a window's ``q`` key).
    """

    def __call__(self, result: FrameResult) -> bool | None: ...  # noqa: E704

    def close(self) -> None: ...  # noqa: E704


#: One processed frame as the loop records it: nanoseconds on the source's clock (``previous``: the source
#: index of the earlier frame of a two-frame window, -1 for one-frame models).
RECORD_DTYPE = np.dtype([("index", np.int64), ("captured_ns", np.int64), ("taken_ns", np.int64),
                         ("finished_ns", np.int64), ("engine_ns", np.int64), ("previous", np.int64),
                         ("forecast_ns", np.int64)])
#: Per-frame figures of a run (:meth:`RunResult.arrays`, the frames of a run report), milliseconds since
#: the run started; ``latency_ms = wait_ms + engine_ms + forecast_ms + runtime_ms``.
FRAME_DTYPE = np.dtype([("index", np.int64), ("capture_ms", np.float64), ("finish_ms", np.float64),
                        ("latency_ms", np.float64), ("wait_ms", np.float64), ("engine_ms", np.float64),
                        ("previous", np.int64), ("forecast_ms", np.float64), ("runtime_ms", np.float64)])


def frame_figures(records: np.ndarray, started_ns: int) -> np.ndarray:
    """The :data:`FRAME_DTYPE` figures of :data:`RECORD_DTYPE` records."""
    frames = np.zeros(len(records), FRAME_DTYPE)
    frames["index"], frames["previous"] = records["index"], records["previous"]
    frames["capture_ms"] = (records["captured_ns"] - started_ns) / 1e6
    frames["finish_ms"] = (records["finished_ns"] - started_ns) / 1e6
    frames["latency_ms"] = (records["finished_ns"] - records["captured_ns"]) / 1e6
    frames["wait_ms"] = (records["taken_ns"] - records["captured_ns"]) / 1e6
    frames["engine_ms"] = records["engine_ns"] / 1e6
    frames["forecast_ms"] = records["forecast_ns"] / 1e6
    frames["runtime_ms"] = np.maximum(0.0, frames["latency_ms"] - frames["wait_ms"] - frames["engine_ms"]
                                      - frames["forecast_ms"])
    return frames


@dataclass
class RunResult:
    """What a run measured; :meth:`summary` gives the report figures.

    Times are nanoseconds on the source's clock. :attr:`records` holds one
    :data:`RECORD_DTYPE` row per processed frame, in order (:meth:`record` adds one).
    """

    window: int
    train_fps: float
    source_fps: float | None
    started_ns: int = 0
    ended_ns: int = 0
    frames_captured: int = 0
    window_padded: int = 0
    end_reason: str = "not started"
    warmup: int = 0
    output_ns: list[int] = field(default_factory=list)
    timing_sums: dict[str, float] = field(default_factory=dict)  # the engine's own breakdown, summed
    forecast: str = "none"  # the forecast method asked for
    forecast_fallbacks: int = 0  # frames it could not be used on (forecast with ``none``)
    forecast_fallback_reason: str | None = None  # why, the first time
    fit: str = "stretch"  # how frames met the engine's input (flame.core.fit)
    _rows: np.ndarray = field(init=False, repr=False, default_factory=lambda: np.zeros(256, RECORD_DTYPE))
    _count: int = field(init=False, default=0)

    def record(self, index: int, captured_ns: int, taken_ns: int, finished_ns: int, engine_ns: int,
               previous: int = -1, forecast_ns: int = 0) -> None:
        """Add one processed frame (the fields of :data:`RECORD_DTYPE`)."""
        if self._count == len(self._rows):  # doubling keeps an hour-long run's appends cheap
            self._rows = np.concatenate([self._rows, np.zeros(len(self._rows), RECORD_DTYPE)])
        # The row is written whole before it is counted, so Ctrl-C between the two leaves it out.
        self._rows[self._count] = (index, captured_ns, taken_ns, finished_ns, engine_ns, previous, forecast_ns)
        self._count += 1

    @property
    def records(self) -> np.ndarray:
        """The processed frames' :data:`RECORD_DTYPE` rows, in order."""
        return self._rows[: self._count]

    @property
    def frames_processed(self) -> int:
        """Frames that went through the engine to a label map."""
        return self._count

    @property
    def frames_dropped(self) -> int:
        """Captured but never processed (so processed + dropped = captured)."""
        return max(0, self.frames_captured - self.frames_processed)

    def arrays(self) -> np.ndarray:
        """Per-frame figures (:data:`FRAME_DTYPE`; ``arrays()["latency_ms"]`` is the latency column).

        ``latency_ms = wait_ms + engine_ms + forecast_ms + runtime_ms``: the wait from capture
        to the loop taking the frame, the engine call, the forecast, the loop's own work.
        """
        return frame_figures(self.records, self.started_ns)

    def summary(self) -> dict[str, Any]:
        """Counts, rates, latency statistics and k at the source fps.

        Returns:
            ``frames_captured/processed/dropped``, ``duration_s``, ``fps_in``,
            ``fps_out``, ``latency_ms``/``wait_ms``/``engine_ms``/``forecast_ms``/``runtime_ms``/``output_ms``
            (each mean/p50/p90/p99/max; latency runs to the forecast labels, so it includes
            ``forecast_ms``), ``forecast`` (method, fallbacks, fallback reason), ``output_share``
            (drawing and saving time over the run's duration, a fraction), ``engine_breakdown_ms``
            (mean of the engine's own timing spans), ``k``, ``k_fps``,
            ``k_latency_ms``, ``window_padded``, ``end_reason``.
        """
        cols = self.arrays()
        span_s = max(0.0, (self.ended_ns - self.started_ns) / 1e9)
        fps_in = self.frames_captured / span_s if span_s > 0 else None
        fps_out = self.frames_processed / span_s if span_s > 0 else None
        latency = summarize(cols["latency_ms"])
        output_ms = np.asarray(self.output_ns, dtype=np.float64) / 1e6
        k_fps = self.source_fps or fps_in
        k = Latency.of_samples(cols["latency_ms"], "p50").k(k_fps) if latency["p50"] is not None and k_fps else None
        return {
            "end_reason": self.end_reason,
            "frames_captured": self.frames_captured,
            "frames_processed": self.frames_processed,
            "frames_dropped": self.frames_dropped,
            "duration_s": span_s,
            "fps_in": fps_in,
            "fps_out": fps_out,
            "latency_ms": latency,
            "wait_ms": summarize(cols["wait_ms"]),
            "engine_ms": summarize(cols["engine_ms"]),
            "forecast_ms": summarize(cols["forecast_ms"]),
            "forecast": {"method": self.forecast, "fallbacks": self.forecast_fallbacks,
                         "fallback_reason": self.forecast_fallback_reason},
            "runtime_ms": summarize(cols["runtime_ms"]),
            "output_ms": summarize(output_ms),
            "output_share": float(output_ms.sum() / 1000.0 / span_s) if span_s > 0 else None,
            "engine_breakdown_ms": ({name: total / self.frames_processed for name, total in self.timing_sums.items()}
                                    if self.frames_processed and self.timing_sums else None),
            "k": k,
            "k_fps": k_fps,
            "k_latency_ms": latency["p50"],
            "window": self.window,
            "window_padded": self.window_padded,
            "fit": self.fit,
            "warmup": self.warmup,
        }
