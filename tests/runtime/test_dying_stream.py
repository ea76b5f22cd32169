"""A live stream that dies: ``flame-run`` ends cleanly and in bounded time, never with an abort.

The sender is a local MJPEG-over-HTTP camera in this process (:mod:`mjpeg_sender`);
``flame-run`` runs in a real subprocess, since the abort this guards against
(exit 134, "terminate called without an active exception") happens at
interpreter shutdown.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest
from mjpeg_sender import MjpegSender
from flame_testing.tiny_engines import write_tiny_onnx

RUN = [sys.executable, "-m", "flame.cli.run"]
STALL_S = 2.0
# The documented bound: the stall timeout, half a second of polling, the grabber's
# stop wait (2 s) and the process's own exit, with room for a loaded machine.
BOUND_S = STALL_S + 6.0


@pytest.mark.parametrize("after", ["close", "hang"])
def test_a_stream_that_dies_ends_cleanly_within_the_bound(tmp_path, after):
    engine = write_tiny_onnx(tmp_path / "tiny.onnx", 1, (48, 64))
    report = tmp_path / "run.json"
    with MjpegSender(frames=40, fps=25, after=after) as sender:
        proc = subprocess.Popen(RUN + ["--url", sender.url, "--engine", str(engine), "--report", str(report),
                                       "--stall-timeout", str(STALL_S), "--warmup", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
        ended = time.monotonic()
        assert sender.done.is_set() and sender.sent == 40
        after_last_frame = ended - sender.last_frame_at
    assert proc.returncode == 0, (proc.returncode, out, err)
    assert "terminate called" not in err and "Traceback" not in err
    assert after_last_frame < BOUND_S, after_last_frame
    data = json.loads(report.read_text())
    assert data["complete"] is False
    assert 0 < data["frames_processed"] <= 40
    if after == "hang":
        # No frame and no answer: the stall timeout ends it, reconnection attempts included.
        assert f"delivered no frame for {STALL_S:g} s" in data["end_reason"], data["end_reason"]
        assert sender.accepted >= 2  # it did try to reconnect
    else:
        # Refused reconnections: the attempts run out, or the stall window does, whichever comes first.
        assert "reconnection attempts" in data["end_reason"], data["end_reason"]
    assert "notice: the run is incomplete" in err


def test_exit_with_a_thread_still_in_opencv_does_not_abort(tmp_path):
    # The mechanism under the bound: a tracked thread that comes back from OpenCV while the process
    # ends. With sys.exit, CPython's shutdown ends that thread by pthread_exit inside C++ code, and the
    # process aborts (134); exit_now skips the shutdown.
    script = textwrap.dedent("""
        import socket, sys, time, cv2
        from flame.core import native_threads
        server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(4)  # accepts, never answers
        url = f"http://127.0.0.1:{server.getsockname()[1]}/"
        junk = [[i] * 3 for i in range(2_000_000)]  # a shutdown with work to do, as after a real run
        native_threads.start(lambda: cv2.VideoCapture(url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 1000]),
                             "flame-test-open")
        time.sleep(0.5)
        print("busy", len(native_threads.busy()), flush=True)
        native_threads.exit_now(0)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "OPENCV_LOG_LEVEL": "OFF", "OPENCV_FFMPEG_LOGLEVEL": "-8"})
    assert proc.stdout.strip() == "busy 1", (proc.stdout, proc.stderr)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert "terminate called" not in proc.stderr
