"""The real-time loop: every frame offline, exact drops in real time, the two-frame ring, the report.

The overlay's drawing is in test_stream_overlay.py, --fit in test_stream_fit.py.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from flame_testing.tiny_engines import DelayEngine, VirtualClock, decoded_index, level, make_card, write_tiny_onnx, write_video

from flame.core.errors import ConfigError
from flame.runtime.engines import load_engine
from flame.runtime.overlay import VideoOutput
from flame.runtime.run_report import (FRAME_FIELDS, build_run_report, latency_samples_ms, read_run_report,
                                      write_run_report)
from flame.runtime.sources import FolderSource, VideoSource
from flame.runtime.stream import Stream


class Collect:
    """An output that keeps what it was given."""

    def __init__(self):
        self.seen = []
        self.closed = False

    def __call__(self, result):
        self.seen.append((result.frame.index, result.labels.copy(), result.stats))

    def close(self):
        self.closed = True


@pytest.mark.parametrize("output", ["labels", "logits"])
def test_offline_onnx_run_processes_every_frame_with_correct_labels(tmp_path, output):
    # A lossless folder at 40x56; the engine takes 24x32, so every frame is resized.
    # A logits export gives the same uint8 labels: the engine takes the argmax.
    for i in range(20):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.full((40, 56, 3), level(i), np.uint8))
    engine = load_engine(write_tiny_onnx(tmp_path / "tiny.onnx", 1, (24, 32), classes=4, output=output))
    collect = Collect()
    with engine, FolderSource(tmp_path, fps=20) as source:
        result = Stream(engine, source, warmup=2, outputs=[collect]).run()
    assert result.frames_captured == result.frames_processed == 20 and result.frames_dropped == 0
    assert [i for i, _, _ in collect.seen] == list(range(20))
    for i, labels, _ in collect.seen:
        assert labels.shape == (24, 32) and labels.dtype == np.uint8
        assert np.all(labels == level(i) * 4 // 256)
    assert collect.closed
    summary = result.summary()
    assert summary["end_reason"] == "end of source"
    assert summary["latency_ms"]["count"] == 20
    # Latency contains the engine call: per frame, and so in every statistic.
    cols = result.arrays()
    assert np.all(cols["latency_ms"] >= cols["engine_ms"])
    assert summary["k_fps"] == 20 and summary["k"] >= 1


def test_offline_video_with_max_frames(tmp_path):
    engine = load_engine(write_tiny_onnx(tmp_path / "tiny.onnx", 1, (48, 64)))
    with engine, VideoSource(write_video(tmp_path / "v.avi", 30, fps=30)) as source:
        result = Stream(engine, source, max_frames=12, warmup=0).run()
    assert result.frames_processed == 12 and result.frames_captured == 12
    assert result.end_reason == "max frames"
    assert list(result.arrays()["index"]) == list(range(12))


def test_realtime_pacing_drops_exactly_the_frames_a_slow_engine_misses(tmp_path):
    # 20 frames at 10 fps (one every 100 ms) through a 250 ms engine, on a virtual clock.
    clock = VirtualClock()
    engine = DelayEngine(250, make_card(1, (48, 64)), clock)
    source = VideoSource(write_video(tmp_path / "v.avi", 20, fps=10), realtime=True, clock=clock, sleep=clock.sleep)
    result = Stream(engine, source, warmup=0).run()
    cols = result.arrays()
    # At each finish (250, 500, 750 ms...) the newest arrived frame is taken.
    assert list(cols["index"]) == [0, 2, 5, 7, 10, 12, 15, 17, 19]
    assert result.frames_captured == 20
    assert result.frames_processed == 9 and result.frames_dropped == 11
    assert result.frames_processed + result.frames_dropped == result.frames_captured
    # Latency runs from arrival (a camera's delivery) to the labels: 250 ms + the wait in the queue.
    assert list(np.round(cols["latency_ms"], 6)) == [250, 300, 250, 300, 250, 300, 250, 300, 350]
    assert list(cols["engine_ms"]) == [250.0] * 9
    assert list(cols["capture_ms"]) == [100.0 * i for i in cols["index"]]
    assert result.summary()["k"] == 3  # p50 300 ms at 10 fps
    # The latency splits into the newest frame's wait for the busy engine, the engine call and the
    # runtime's own work (none on a virtual clock): a frame taken at 250 ms arrived at 200 ms.
    assert list(np.round(cols["wait_ms"], 6)) == [0, 50, 0, 50, 0, 50, 0, 50, 100]
    assert list(cols["runtime_ms"]) == [0.0] * 9
    summary = result.summary()
    assert summary["wait_ms"]["p50"] == 50 and summary["runtime_ms"]["max"] == 0
    # The engine saw the frames it was said to process.
    assert [decoded_index(fed[0]) for fed in engine.fed] == list(cols["index"])


def test_two_frame_window_takes_the_frame_one_training_interval_back_even_if_dropped(tmp_path):
    # Source 10 fps, model trained at 5 fps: I_{t-1} is 200 ms (two source frames) back.
    clock = VirtualClock()
    engine = DelayEngine(250, make_card(2, (48, 64), fps=5), clock)
    source = VideoSource(write_video(tmp_path / "v.avi", 20, fps=10), realtime=True, clock=clock, sleep=clock.sleep)
    result = Stream(engine, source, warmup=0).run()
    cols = result.arrays()
    assert list(cols["index"]) == [0, 2, 5, 7, 10, 12, 15, 17, 19]
    # Frame 5's partner is frame 3, which was dropped - not frame 2, the one processed before it.
    expected_previous = [0, 0, 3, 5, 8, 10, 13, 15, 17]
    assert list(cols["previous"]) == expected_previous
    assert [[decoded_index(level_) for level_ in fed] for fed in engine.fed] == [
        [p, i] for p, i in zip(expected_previous, cols["index"])]
    assert result.window_padded == 1  # only the very first frame had no earlier one


def test_stream_refuses_bad_limits(tmp_path):
    engine = DelayEngine(0, make_card(1, (48, 64)))
    with VideoSource(write_video(tmp_path / "v.avi", 2, fps=10)) as source:
        for bad in ({"max_frames": 0}, {"duration_s": 0}, {"warmup": -1}):
            with pytest.raises(ConfigError):
                Stream(engine, source, **bad)


def test_interrupted_run_keeps_a_consistent_result(tmp_path):
    class Interrupt:
        def __call__(self, result):
            if result.frame.index == 4:
                raise KeyboardInterrupt

        def close(self):
            pass

    engine = DelayEngine(0, make_card(1, (48, 64)))
    source = VideoSource(write_video(tmp_path / "v.avi", 30, fps=10))
    stream = Stream(engine, source, warmup=0, outputs=[Interrupt()])
    with pytest.raises(KeyboardInterrupt):
        stream.run()
    result = stream.result
    assert result.end_reason == "interrupted"
    assert result.frames_processed == 5 and result.frames_captured == 5
    report = build_run_report(result, engine, source)
    assert report.complete is False and report.frames_processed == 5


class SlowOutput:
    """An output that takes 25 ms per frame on the virtual clock (drawing and saving)."""

    def __init__(self, clock):
        self.clock = clock

    def __call__(self, result):
        self.clock.advance_ms(25)

    def close(self):
        pass


def test_output_share_is_the_fraction_of_the_run_spent_on_outputs(tmp_path):
    # 10 frames offline, 75 ms engine + 25 ms output each: 1 s of run, 250 ms of it drawing.
    clock = VirtualClock()
    engine = DelayEngine(75, make_card(1, (48, 64)), clock)
    source = VideoSource(write_video(tmp_path / "v.avi", 10, fps=10), clock=clock, sleep=clock.sleep)
    summary = Stream(engine, source, warmup=0, outputs=[SlowOutput(clock)]).run().summary()
    assert summary["duration_s"] == pytest.approx(1.0)
    assert summary["output_ms"]["mean"] == pytest.approx(25.0) and summary["output_ms"]["count"] == 10
    assert summary["output_share"] == pytest.approx(0.25)


def test_report_schema_round_trip(tmp_path):
    clock = VirtualClock()
    engine = DelayEngine(250, make_card(2, (48, 64), fps=5), clock)
    source = VideoSource(write_video(tmp_path / "v.avi", 20, fps=10), realtime=True, clock=clock, sleep=clock.sleep)
    result = Stream(engine, source, warmup=0).run()
    report = build_run_report(result, engine, source)
    path = write_run_report(tmp_path / "run.json", report)
    raw = json.loads(path.read_text())
    assert raw["report"] == "flame-run" and raw["version"] == 1
    for key in ("frames_captured", "frames_processed", "frames_dropped", "fps_in", "fps_out", "k", "k_fps",
                "end_reason", "complete", "duration_s", "window", "window_padded", "output_share"):
        assert key in raw, key
    assert raw["frames_processed"] + raw["frames_dropped"] == raw["frames_captured"] == 20
    for block in ("latency_ms", "wait_ms", "engine_ms", "runtime_ms"):
        assert set(raw[block]) >= {"mean", "p50", "p90", "p99", "max"}
    assert raw["latency_ms"]["p50"] == 300.0 and raw["latency_ms"]["max"] == 350.0
    assert raw["engine_ms"]["mean"] == 250.0
    assert raw["engine_breakdown_ms"]["compute_ms"] == 250.0  # the engine's own spans, averaged
    assert raw["k"] == 3 and raw["k_fps"] == 10
    assert raw["card"]["window"] == 2 and raw["card"]["fps"] == 5
    assert raw["engine"]["backend"] == "test-delay"
    assert raw["source"]["kind"] == "video" and raw["source"]["realtime"] is True and raw["source"]["fps"] == 10
    assert raw["machine"]["cpu"] and "gpu" in raw["machine"]
    assert raw["frame_fields"] == list(FRAME_FIELDS)
    # Frame 5 arrived at 500 ms as the engine came free: no wait, 250 ms in the engine (no forecast: 0 ms).
    assert raw["frames"][2] == [5, 500.0, 750.0, 250.0, 0.0, 250.0, 3, 0.0]
    # One line per frame keeps long runs small.
    assert '    [5,500.0,750.0,250.0,0.0,250.0,3,0.0]' in path.read_text()
    back = read_run_report(path)
    assert list(latency_samples_ms(back)) == [250, 300, 250, 300, 250, 300, 250, 300, 350]
    assert list(back.frames["index"]) == [0, 2, 5, 7, 10, 12, 15, 17, 19]


def test_reading_something_else_as_a_report_fails_clearly(tmp_path):
    from flame.core.errors import DataError

    (tmp_path / "other.json").write_text('{"miou": 0.5}')
    with pytest.raises(DataError, match="not a flame-run report"):
        read_run_report(tmp_path / "other.json")
    (tmp_path / "future.json").write_text('{"report": "flame-run", "version": 99}')
    with pytest.raises(DataError, match="version 99"):
        read_run_report(tmp_path / "future.json")


def test_overlay_video_keeps_the_source_timeline(tmp_path):
    clock = VirtualClock()
    card = make_card(1, (24, 32))
    engine = DelayEngine(250, card, clock)
    source = VideoSource(write_video(tmp_path / "v.avi", 20, fps=10), realtime=True, clock=clock, sleep=clock.sleep)
    video = VideoOutput(tmp_path / "out.mp4", card.palette, fps=10, keep_timeline=True, size=source.size)
    result = Stream(engine, source, warmup=0, outputs=[video]).run()
    assert result.frames_processed == 9 and len(result.output_ns) == 9
    assert (tmp_path / "out.mp4").is_file() and not list(tmp_path.glob(".out.partial*"))
    capture = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    count = 0
    while capture.read()[0]:
        count += 1
    # One video frame per source frame 0..19: each result held over the dropped frames after it.
    assert count == video.written == 20


class ClockForecaster:
    """A forecaster that takes a known time on the virtual clock and remembers what it was asked."""

    name = "test-forecast"

    def __init__(self, clock, cost_ms):
        self.clock, self.cost_ms, self.calls = clock, cost_ms, []

    def __call__(self, labels, image, previous, interval_s, horizon_s):
        from flame.runtime.forecast import Forecast

        self.calls.append((previous is not None, interval_s, horizon_s))
        self.clock.advance_ms(self.cost_ms)
        if previous is None:
            return Forecast(labels, "none", "no earlier source frame to compute the flow from")
        return Forecast(labels + 1, self.name)


def test_latency_runs_to_the_forecast_labels_and_the_horizon_is_the_time_they_are_used(tmp_path):
    clock = VirtualClock()
    engine = DelayEngine(50, make_card(1, (48, 64), fps=10), clock)
    source = VideoSource(write_video(tmp_path / "v.avi", 6, fps=10), realtime=False, clock=clock, sleep=clock.sleep)
    forecaster = ClockForecaster(clock, 20)
    collect = Collect()
    result = Stream(engine, source, warmup=0, outputs=[collect], forecaster=forecaster,
                    extra_latency_ms=30).run()
    cols = result.arrays()
    np.testing.assert_allclose(cols["forecast_ms"], 20.0)
    np.testing.assert_allclose(cols["latency_ms"] - cols["engine_ms"], 20.0)  # latency includes the forecast
    assert all(labels.max() == level(i) * 4 // 256 + 1 for i, labels, _ in collect.seen[1:])  # outputs get them
    # The first frame has no earlier one: it falls back, and the report says so.
    assert [c[0] for c in forecaster.calls] == [False] + [True] * 5
    summary = result.summary()
    assert summary["forecast"] == {"method": "test-forecast", "fallbacks": 1,
                                   "fallback_reason": "no earlier source frame to compute the flow from"}
    assert summary["forecast_ms"]["p50"] == 20.0 and summary["latency_ms"]["p50"] == 70.0
    # Horizon: latency so far (50 ms engine), the forecast's recent time (20 ms, from the second frame on)
    # and the extra delay (30 ms); the interval is the source's 0.1 s between frames.
    assert forecaster.calls[0][2] == pytest.approx(0.080)
    assert all(c[2] == pytest.approx(0.100) and c[1] == pytest.approx(0.1) for c in forecaster.calls[1:])
    report = build_run_report(result, engine, source)
    assert report.to_dict()["frame_fields"][-1] == "forecast_ms" and report.to_dict()["frames"][3][-1] == 20.0
