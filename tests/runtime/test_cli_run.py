"""``flame-run`` end to end: a good run, each bad input (exit 2, one line), and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from flame_testing.tiny_engines import write_tiny_onnx, write_video

from flame.cli.run import main

RUN = [sys.executable, "-m", "flame.cli.run"]


@pytest.fixture()
def files(tmp_path):
    engine = write_tiny_onnx(tmp_path / "tiny.onnx", 1, (48, 64))
    video = write_video(tmp_path / "v.avi", 24, fps=24)
    return tmp_path, engine, video


def test_run_on_a_video_writes_report_and_overlay(files):
    tmp, engine, video = files
    result = CliRunner().invoke(main, ["--video", str(video), "--engine", str(engine), "--report",
                                       str(tmp / "run.json"), "--save", str(tmp / "out.mp4"), "--show"])
    assert result.exit_code == 0, result.output
    # opencv-python-headless (or no display): the window is skipped with a notice, the run goes on.
    assert "running without a window" in result.output
    report = json.loads((tmp / "run.json").read_text())
    assert report["report"] == "flame-run" and report["complete"] is True
    assert report["frames_captured"] == report["frames_processed"] == 24 and report["frames_dropped"] == 0
    assert report["source"]["kind"] == "video" and report["source"]["realtime"] is False
    assert report["engine"]["backend"] == "onnxruntime" and report["card"]["architecture"] == "tiny-mean"
    assert len(report["frames"]) == 24 and report["output_ms"]["count"] == 24
    capture = cv2.VideoCapture(str(tmp / "out.mp4"))
    ok, first = capture.read()
    assert ok and first.shape == (48, 64, 3)


def test_bad_inputs_exit_2_with_one_line_within_seconds(files):
    tmp, engine, video = files
    (tmp / "garbage.onnx").write_bytes(np.random.default_rng(0).bytes(3000))
    (tmp / "garbage.mp4").write_bytes(np.random.default_rng(1).bytes(5000))
    (tmp / "empty").mkdir()
    cases = {
        "missing camera": (["--camera", "9", "--engine", str(engine)], "camera 9"),
        "missing engine": (["--video", str(video), "--engine", str(tmp / "nope.onnx")], "does not exist"),
        "garbage engine": (["--video", str(video), "--engine", str(tmp / "garbage.onnx")], "not a loadable ONNX"),
        "missing video": (["--video", str(tmp / "nope.mp4"), "--engine", str(engine)], "does not exist"),
        "garbage video": (["--video", str(tmp / "garbage.mp4"), "--engine", str(engine)], "cannot open"),
        "empty folder": (["--frames", str(tmp / "empty"), "--engine", str(engine)], "holds no images"),
        "two sources": (["--video", str(video), "--camera", "0", "--engine", str(engine)], "exactly one source"),
    }
    # All at once: each is a separate process, and the machine has few cores.
    started = time.monotonic()
    procs = {name: subprocess.Popen(RUN + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, (args, _) in cases.items()}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, (name, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, err)
        assert cases[name][1] in lines[0], (name, lines[0])
        assert "Traceback" not in out + err
    # Seven interpreters sharing the cores: each alone takes about a second.
    assert time.monotonic() - started < 30


def _start_and_signal(args, sig, after_s=1.0):
    """Start flame-run, wait for its header (printed as the loop starts), send ``sig`` after ``after_s``."""
    proc = subprocess.Popen(RUN + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        seen, deadline = b"", time.monotonic() + 30
        while b"onnxruntime" not in seen and time.monotonic() < deadline:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
        assert b"onnxruntime" in seen, seen
        time.sleep(after_s)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, seen + err


@pytest.mark.parametrize("sig, status, reason, said", [(signal.SIGINT, 130, "interrupted", b"interrupted"),
                                                       (signal.SIGTERM, 143, "terminated", b"terminated")])
def test_ctrl_c_and_sigterm_stop_cleanly_and_write_report_and_video(files, sig, status, reason, said):
    # SIGTERM is what docker stop, systemd and ROS launch send: it must act like Ctrl-C.
    tmp, engine, _ = files
    video = write_video(tmp / "long.avi", 300, fps=30)  # 10 s in real time
    report, saved = tmp / "run.json", tmp / "overlay.avi"
    code, out, err = _start_and_signal(["--video", str(video), "--realtime", "--engine", str(engine), "--report",
                                        str(report), "--save", str(saved)], sig)
    assert code == status, (out, err)
    assert b"Traceback" not in err and err.strip().splitlines()[-1] == said
    data = json.loads(report.read_text())
    assert data["end_reason"] == reason and data["complete"] is False
    assert 0 < data["frames_processed"] < 300
    assert data["frames_processed"] + data["frames_dropped"] == data["frames_captured"]
    assert data["latency_ms"]["count"] == data["frames_processed"] == len(data["frames"])
    # The overlay video was finished and renamed into place: in real time it keeps the source's timeline.
    capture = cv2.VideoCapture(str(saved))
    frames = 0
    while capture.read()[0]:
        frames += 1
    indices = [row[0] for row in data["frames"]]
    assert frames == indices[-1] - indices[0] + 1
    assert not list(tmp.glob(".*partial*"))


def test_a_video_cut_short_is_reported_incomplete_with_its_counts(files):
    tmp, engine, _ = files
    whole = write_video(tmp / "whole.avi", 60, fps=30)
    data = whole.read_bytes()
    cut = tmp / "cut.avi"
    cut.write_bytes(data[: len(data) * 4 // 10])  # the header still announces 60 frames
    result = CliRunner().invoke(main, ["--video", str(cut), "--engine", str(engine), "--report", str(tmp / "run.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "run.json").read_text())
    read = report["frames_processed"]
    assert 5 < read < 60
    assert report["complete"] is False
    assert report["end_reason"] == f"the video ended after {read} of the 60 frames its header announced"
    assert report["source"]["frames_announced"] == 60 and report["source"]["frames_read"] == read
    assert f"incomplete: the video ended after {read} of the 60 frames" in result.output


def test_bad_options_fail_before_the_run(files):
    tmp, engine, video = files
    runner = CliRunner()
    result = runner.invoke(main, ["--video", str(video), "--engine", str(engine), "--save", str(tmp / "out.gif")])
    assert result.exit_code == 2 and "error: cannot save video as out.gif" in result.output
    result = runner.invoke(main, ["--video", str(video), "--engine", str(engine), "--report", str(tmp)])
    assert result.exit_code == 2 and "is a directory" in result.output
    result = runner.invoke(main, ["--video", str(video), "--engine", str(engine), "--max-frames", "0"])
    assert result.exit_code == 2 and "--max-frames >= 1" in result.output
    assert not list(tmp.glob("*.json"))


def test_forecast_flow_on_a_video_is_timed_inside_the_latency(files):
    tmp, engine, video = files
    result = CliRunner().invoke(main, ["--video", str(video), "--engine", str(engine), "--forecast", "flow",
                                       "--report", str(tmp / "run.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "run.json").read_text())
    assert report["forecast"]["method"] == "flow" and report["forecast_ms"]["count"] == 24
    columns = {name: np.array([row[i] for row in report["frames"]]) for i, name in enumerate(report["frame_fields"])}
    assert np.all(columns["forecast_ms"][1:] > 0)
    # Latency runs to the forecast labels: engine call plus forecast, frame by frame.
    assert np.all(columns["latency_ms"] >= columns["engine_ms"] + columns["forecast_ms"] - 1e-3)
    # Only the first frame has no earlier source frame.
    assert report["forecast"]["fallbacks"] == 1


def test_forecast_on_a_one_frame_source_falls_back_to_none_and_says_so(files):
    tmp, engine, _ = files
    (tmp / "one").mkdir()
    cv2.imwrite(str(tmp / "one" / "000.png"), np.full((48, 64, 3), 90, np.uint8))
    result = CliRunner().invoke(main, ["--frames", str(tmp / "one"), "--engine", str(engine), "--forecast", "flow",
                                       "--report", str(tmp / "run.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "run.json").read_text())
    assert report["frames_processed"] == 1
    assert report["forecast"] == {"method": "flow", "fallbacks": 1,
                                  "fallback_reason": "no earlier source frame to compute the flow from"}
    assert "fell back to none on 1 frame(s): no earlier source frame" in result.output
