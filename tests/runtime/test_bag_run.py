"""``flame-run --bag``: a robot's recording streamed like a camera (paced at its stamps with --realtime),
and ``--save-bag``: the run written back as a bag whose labels and stamps match."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from flame_testing.bags import EPOCH_NS, frames_with_index, write_image_bag
from flame_testing.tiny_engines import DelayEngine, VirtualClock, decoded_index, level, make_card, write_tiny_onnx

from flame.core.errors import ConfigError, SourceError
from flame.media import open_footage
from flame.runtime.engines import load_engine
from flame.runtime.sources import open_source
from flame.runtime.stream import Stream

RUN = [sys.executable, "-m", "flame.cli.run"]


def grey_frames(count: int, size=(48, 64)) -> list[np.ndarray]:
    return [np.full((*size, 3), level(i), np.uint8) for i in range(count)]


def test_realtime_bag_is_paced_at_its_stamps_gaps_included(tmp_path):
    # Frames every 100 ms, but frames 5 and 6 were never recorded (a 300 ms gap before frame 7).
    times = [0.1 * i for i in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11)]
    write_image_bag(tmp_path / "bag", grey_frames(10), times)
    clock = VirtualClock()
    engine = DelayEngine(250, make_card(1, (48, 64)), clock)
    source = open_source(bag=tmp_path / "bag", realtime=True, clock=clock, sleep=clock.sleep)
    result = Stream(engine, source, warmup=0).run()
    cols = result.arrays()
    # Recorded times of the bag's frames (positions 0..9): 0, 100, 200, 300, 400, 700, 800, 900, 1000, 1100 ms.
    # The engine (250 ms) finishes at 250 -> newest arrived is position 2 (200 ms); at 500 -> 4 (400 ms);
    # at 750 -> 5 (700 ms); at 1000 -> 8 (1000 ms); at 1250 -> 9 (1100 ms).
    assert list(cols["index"]) == [0, 2, 4, 5, 8, 9]
    assert list(cols["capture_ms"]) == pytest.approx([0, 200, 400, 700, 1000, 1100])
    assert list(np.round(cols["latency_ms"], 6)) == [250, 300, 350, 300, 250, 400]
    assert result.frames_captured == 10 and result.frames_dropped == 4
    assert [decoded_index(fed[0]) for fed in engine.fed] == [0, 2, 4, 5, 8, 9]  # the frames it was said to take


def test_offline_bag_every_frame_in_order(tmp_path):
    write_image_bag(tmp_path / "bag", grey_frames(6), storage="sqlite3")
    engine = DelayEngine(0, make_card(1, (48, 64)))
    with open_source(bag=tmp_path / "bag") as source:
        result = Stream(engine, source, warmup=0).run()
        described = source.describe()
    assert list(result.arrays()["index"]) == list(range(6))
    assert described["topic"] == "/camera/image_raw" and described["time_source"] == "header stamps"
    assert described["intervals"]["p50_ms"] == pytest.approx(1000 / 30)


def test_bag_source_errors(tmp_path):
    write_image_bag(tmp_path / "bag", grey_frames(2))
    with pytest.raises(ConfigError, match="fps does not apply"):
        open_source(bag=tmp_path / "bag", fps=10)
    with pytest.raises(ConfigError, match="topic applies to a bag only"):
        open_source(frames=tmp_path, topic="/camera")
    with pytest.raises(SourceError, match="no image topic /nope"):
        open_source(bag=tmp_path / "bag", topic="/nope")


def test_save_bag_round_trip_through_the_command(tmp_path):
    frames = frames_with_index(8, (48, 64))
    times = [0.0, 0.05, 0.1, 0.15, 0.35, 0.4, 0.45, 0.5]  # a 200 ms gap before frame 4
    write_image_bag(tmp_path / "in", frames, times, kind="CompressedImage", encoding="png")
    engine_path = write_tiny_onnx(tmp_path / "tiny.onnx", 1, (24, 32))  # half the frame size: labels resized
    done = subprocess.run(RUN + ["--bag", str(tmp_path / "in"), "--engine", str(engine_path), "--save-bag",
                                 str(tmp_path / "out"), "--report", str(tmp_path / "run.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["frames_processed"] == 8 and report["source"]["intervals"]["gaps"][0]["frame"] == 4
    labels = open_footage(bag=tmp_path / "out", topic="/flame/labels")
    labels.timestamps()
    np.testing.assert_array_equal(labels.stamps_ns, [EPOCH_NS + round(t * 1e9) for t in times])
    with load_engine(engine_path, device="cpu") as engine:
        for frame, written in zip(frames, labels.frames()):
            import cv2

            small = cv2.resize(frame, (32, 24), interpolation=cv2.INTER_LINEAR)
            expected = engine(small[None])
            rows, cols = (np.arange(48) * 24) // 48, (np.arange(64) * 32) // 64
            np.testing.assert_array_equal(written[..., 0], expected[rows[:, None], cols[None, :]])
    from rosbags.highlevel import AnyReader

    with AnyReader([tmp_path / "out"]) as reader:
        latency = [reader.deserialize(raw, c.msgtype).data for c, _, raw in
                   reader.messages(connections=[c for c in reader.connections if c.topic == "/flame/latency"])]
    assert len(latency) == 8 and all(value > 0 for value in latency)
    # The report rounds to 0.1 µs.
    np.testing.assert_allclose(latency, [f["latency_ms"] for f in _frames(report)], atol=5e-5)


def _frames(report: dict) -> list[dict]:
    fields = report["frame_fields"]
    return [dict(zip(fields, row)) for row in report["frames"]]


def test_save_bag_refuses_an_existing_folder_before_running(tmp_path):
    write_image_bag(tmp_path / "in", grey_frames(2))
    (tmp_path / "out").mkdir()
    engine_path = write_tiny_onnx(tmp_path / "tiny.onnx", 1, (48, 64))
    done = subprocess.run(RUN + ["--bag", str(tmp_path / "in"), "--engine", str(engine_path), "--save-bag",
                                 str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0
    assert "exists" in done.stderr


def test_sigterm_still_finishes_the_bag(tmp_path):
    # A long real-time bag (40 frames at 10 fps = 4 s), stopped after about a second.
    write_image_bag(tmp_path / "in", grey_frames(40), fps=10)
    engine_path = write_tiny_onnx(tmp_path / "tiny.onnx", 1, (48, 64))
    process = subprocess.Popen(RUN + ["--bag", str(tmp_path / "in"), "--realtime", "--engine", str(engine_path),
                                      "--save-bag", str(tmp_path / "out"), "--warmup", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(tmp_path.glob(".out*")):
        time.sleep(0.05)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    labels = open_footage(bag=tmp_path / "out", topic="/flame/labels")
    assert 1 <= len(labels) < 40
    assert not list(tmp_path.glob(".out*"))  # no staging folder left
