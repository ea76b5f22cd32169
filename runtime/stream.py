"""The real-time loop: newest frame -> engine -> labels, with measured latency.

Usable from Python without the CLI::

    with load_engine("model.onnx") as engine, open_source(camera=0) as source:
        result = Stream(engine, source, max_frames=300).run()
    print(result.summary()["latency_ms"])

Per frame the loop takes the newest frame (and, for a two-frame model, the
frame captured about one *training* interval earlier, from the ring by
timestamp), resizes into a reused input buffer, runs the engine, and records

* latency: from the frame's capture (in host memory) to the label map in
  host memory (docs/metric.md, "Latency"), split into
* the wait: from the capture to the loop taking the frame (in real time, the
  newest frame arrived while the engine was busy with the one before),
* the engine call alone, and
* the runtime's own work: the rest (window, resize, label conversion).

With a forecaster (:mod:`flame.runtime.forecast`) the labels are moved to the
moment they are used (this frame's latency so far, the forecast's own recent
time and a fixed extra delay), from I_t and the source frame captured just
before it (from the ring, by timestamp); latency then runs to the forecast
labels and the forecast's own time is recorded per frame.

Outputs (overlay window, video file, status line) run after the latency
span closes; their cost is recorded per frame so a loop that falls behind
because of them says so. What outputs receive and what a run measured
(:class:`FrameResult`, :class:`RunResult`) are in :mod:`flame.runtime.stream_result`.
"""

from __future__ import annotations

import collections
from typing import Callable, Iterable

import cv2
import numpy as np

from flame.core.errors import ConfigError, FlameError, Terminated, param
from flame.core.fit import FitBox, check_fit, fit_box
from flame.core.latency import check_delay_ms
from flame.core.offsets import frame_offset
from flame.runtime.engines.base import Engine
from flame.runtime.forecast import ForecastCalls, Forecaster, NoForecast
from flame.runtime.frames import Frame, Taken, history_needed, pick_window
from flame.runtime.source_base import Source
from flame.runtime.stream_result import FrameResult, LiveStats, Output, RunResult

__all__ = ["FrameResult", "LiveStats", "Output", "RunResult", "Stream"]


class Stream:
    """Runs an engine on a source in real time (see the module docstring).

    Args:
        engine: a loaded engine (its card gives window, training fps, input size).
        source: an opened, not yet started source.
        max_frames: stop after this many processed frames.
        duration_s: stop after this long (source clock).
        warmup: engine calls on a blank input before measuring.
        outputs: called with each :class:`FrameResult` after its latency is recorded;
            closed when the run ends.
        interpolation: OpenCV interpolation for resizing frames to the engine's input.
        forecaster: moves each label map to the time it is used (default: ``none``).
        extra_latency_ms: delay after the labels are ready (actuation, transport) the
            forecast also covers.
        fit: how a frame of another aspect ratio meets the input (:data:`flame.core.fit.FITS`):
            ``stretch`` resizes it whole, ``crop`` takes its centre, ``pad`` letterboxes it;
            outputs get the geometry (:attr:`FrameResult.fit`) to map the labels back.

    Raises:
        ConfigError: on a negative ``max_frames``, ``duration_s``, ``warmup`` or ``extra_latency_ms``.
    """

    def __init__(self, engine: Engine, source: Source, max_frames: int | None = None,
                 duration_s: float | None = None, warmup: int = 5, outputs: Iterable[Output] = (),
                 interpolation: int = cv2.INTER_LINEAR, forecaster: Forecaster | None = None,
                 extra_latency_ms: float = 0.0, fit: str = "stretch") -> None:
        if max_frames is not None and max_frames < 1:
            raise ConfigError(f"expected {param('max_frames')} >= 1, found {max_frames}")
        if duration_s is not None and not duration_s > 0:
            raise ConfigError(f"expected {param('duration_s')} > 0 seconds, found {duration_s}")
        if warmup < 0:
            raise ConfigError(f"expected {param('warmup')} >= 0, found {warmup}")
        check_delay_ms(extra_latency_ms, "extra_latency_ms")
        self.fit = check_fit(fit)
        self._box: FitBox | None = None  # the geometry for the source's frame size, made at its first frame
        self.engine = engine
        self.source = source
        self.max_frames = max_frames
        self.duration_s = duration_s
        self.warmup = warmup
        self.outputs = list(outputs)
        self.interpolation = interpolation
        card = engine.card
        self.window = card.window
        self.interval_s = 1.0 / card.fps
        self.input_hw = tuple(card.input_size)
        self.forecaster: Forecaster = forecaster or NoForecast()
        self._forecasting = not isinstance(self.forecaster, NoForecast)  # decided once, not per frame
        self._forecast_calls = ForecastCalls(self.forecaster)
        self.extra_latency_ns = int(round(extra_latency_ms * 1e6))
        self.result = RunResult(window=card.window, train_fps=card.fps, source_fps=source.fps, warmup=warmup,
                                forecast=self.forecaster.name, fit=fit)
        self._forecast_ns: collections.deque[int] = collections.deque(maxlen=15)  # recent forecast times
        self._clock: Callable[[], int] = source.clock
        self._buffer = np.empty((card.window, *self.input_hw, 3), dtype=np.uint8)
        self._recent: collections.deque[tuple[int, int, int]] = collections.deque(maxlen=30)
        self._ran = False

    def run(self) -> RunResult:
        """Warm up, start the source and process frames until a stop condition.

        The result is complete (counts and end reason set) even when the run
        is interrupted (Ctrl-C) or the source fails; the exception then
        propagates after the source is stopped and the outputs are closed.

        Returns:
            The :class:`RunResult` (also kept in :attr:`result`).

        Raises:
            FlameError: from the source, the engine or an output.
            KeyboardInterrupt: on Ctrl-C (end reason ``interrupted``) or SIGTERM
                (:class:`~flame.core.errors.Terminated`, end reason ``terminated``),
                after the result is complete.
        """
        if self._ran:
            raise ConfigError("a Stream runs once; make a new one (and open the source again)")
        self._ran = True
        result = self.result
        try:
            result.end_reason = "warming up"
            blank = np.zeros(self._buffer.shape, dtype=np.uint8)
            for _ in range(self.warmup):
                self.engine(blank)
            self.source.start(history_needed(self.window, 1.0 / self.interval_s, self.source.fps))
            result.started_ns = self._clock()
            result.end_reason = "running"
            while True:
                if self.max_frames is not None and result.frames_processed >= self.max_frames:
                    result.end_reason = "max frames"
                    break
                if self.duration_s is not None and self._clock() - result.started_ns >= self.duration_s * 1e9:
                    result.end_reason = "duration"
                    break
                taken = self.source.read()
                if taken is None:
                    result.end_reason = self.source.end_reason or "end of source"
                    break
                if self._process(taken) is False:
                    result.end_reason = "stopped by an output"
                    break
        except KeyboardInterrupt as exc:
            result.end_reason = "terminated" if isinstance(exc, Terminated) else "interrupted"
            raise
        except Exception as exc:
            result.end_reason = f"error: {exc}" if isinstance(exc, FlameError) else f"error: {type(exc).__name__}: {exc}"
            raise
        finally:
            self._finish()
        return result

    def _finish(self) -> None:
        result = self.result
        try:
            self.source.stop()
        finally:
            result.ended_ns = self._clock()
            if not result.started_ns:  # stopped before the source started (warm-up)
                result.started_ns = result.ended_ns
            result.frames_captured = max(self.source.captured, result.frames_processed)
            failure: Exception | None = None
            for output in self.outputs:
                try:  # every output gets closed (a saved video finished) even if one fails
                    output.close()
                except Exception as exc:
                    failure = failure or exc
            if failure is not None:
                raise failure

    def _fitted(self, image: np.ndarray, slot: np.ndarray) -> None:
        size = image.shape[:2]
        if self._box is None or self._box.frame_size != size:
            self._box = fit_box(self.fit, size, self.input_hw)
        self._box.to_input(image, self._resize, out=slot)

    def _resize(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return cv2.resize(image, (size[1], size[0]), interpolation=self.interpolation)

    def _inputs(self, frames: list[Frame]) -> np.ndarray:
        height, width = self.input_hw
        if self.fit != "stretch":
            for slot, frame in zip(self._buffer, frames):
                self._fitted(frame.image, slot)
            return self._buffer
        if len(frames) == 1 and frames[0].image.shape[:2] == (height, width):
            return frames[0].image[None]  # a view: no copy when no resize is needed
        for slot, frame in zip(self._buffer, frames):
            if frame.image.shape[:2] == (height, width):
                np.copyto(slot, frame.image)
            else:
                cv2.resize(frame.image, (width, height), dst=slot, interpolation=self.interpolation)
        return self._buffer

    def _process(self, taken: Taken) -> bool | None:
        result = self.result
        taken_ns = self._clock()
        frame = taken.frame
        if self.window > 1:
            frames, padded = pick_window(taken.recent, self.window, self.interval_s)
            result.window_padded += 1 if padded else 0
        else:
            frames = [frame]
        inputs = self._inputs(frames)
        start = self._clock()
        labels = self.engine(inputs)  # uint8 [H, W] for labels and logits exports alike
        # The labels are in host memory when the engine returns: its end is the frame's end (or the forecast's).
        finished = engine_done = self._clock()
        if self._forecasting:
            labels = self._forecast(taken, labels, engine_done)
            finished = self._clock()
        previous = frames[-2].index if len(frames) > 1 else -1
        timing = self.engine.last_timing
        if timing is not None:
            sums = result.timing_sums
            for name, value in timing.as_dict().items():
                sums[name] = sums.get(name, 0.0) + value
        result.record(frame.index, frame.captured_ns, max(frame.captured_ns, taken_ns), finished,
                      engine_done - start, previous, finished - engine_done)
        if not self.outputs:
            return None
        self._recent.append((finished - frame.captured_ns, engine_done - start, finished))
        out_start = self._clock()
        item = FrameResult(frame, tuple(frames), labels, (finished - frame.captured_ns) / 1e6,
                           (engine_done - start) / 1e6, self._live_stats(), self._box)
        keep_going: bool | None = None
        for output_ in self.outputs:
            if output_(item) is False:
                keep_going = False
        result.output_ns.append(self._clock() - out_start)
        return keep_going

    def _forecast(self, taken: Taken, labels: np.ndarray, now: int) -> np.ndarray:
        """The labels moved to when they are used: latency so far, the forecast's own time, the extra delay."""
        frame = taken.frame
        before = taken.recent[-2] if len(taken.recent) > 1 else None  # the source frame captured just before
        expected = int(np.median(self._forecast_ns)) if self._forecast_ns else 0
        horizon_s = (now - frame.captured_ns + expected + self.extra_latency_ns) / 1e9
        calls = self._forecast_calls
        moved = calls(labels, frame.image, frame.stream_s, before.image if before is not None else None,
                      before.stream_s if before is not None else 0.0, horizon_s)
        self._forecast_ns.append(self._clock() - now)
        self.result.forecast_fallbacks, self.result.forecast_fallback_reason = calls.fallbacks, calls.fallback_reason
        return moved

    def _live_stats(self) -> LiveStats:
        recent = np.asarray(self._recent, dtype=np.float64)
        latency_ms = float(np.median(recent[:, 0])) / 1e6
        engine_ms = float(np.median(recent[:, 1])) / 1e6
        span = (recent[-1, 2] - recent[0, 2]) / 1e9
        fps_out = (len(recent) - 1) / span if span > 0 else 0.0
        fps = self.source.fps
        processed = self.result.frames_processed
        dropped = max(0, self.source.captured - processed)
        return LiveStats(latency_ms, engine_ms, fps_out, frame_offset(latency_ms / 1000.0, fps) if fps else None, fps,
                         processed, dropped)
