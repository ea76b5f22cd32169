"""Sources: files, folders, pacing, live grabbing and failures (flame.runtime.sources)."""

from __future__ import annotations

import os
import threading
import time

import cv2
import numpy as np
import pytest
from flame_testing.tiny_engines import VirtualClock, decoded_index, level, write_video

from flame.core.errors import ConfigError, SourceError
from flame.runtime.sources import FolderSource, LiveSource, VideoSource, open_source, redact_url


def drain(source, history=2):
    source.start(history)
    taken = []
    while (t := source.read()) is not None:
        taken.append(t)
    source.stop()
    return taken


def test_video_offline_yields_every_frame_with_its_timeline(tmp_path):
    path = write_video(tmp_path / "v.avi", 23, fps=25)
    with VideoSource(path) as source:
        assert source.fps == 25 and source.fps_from == "container" and source.size == (48, 64)
        taken = drain(source)
    assert [t.frame.index for t in taken] == list(range(23))
    assert [decoded_index(t.frame.image.mean()) for t in taken] == list(range(23))
    assert taken[5].frame.stream_s == pytest.approx(5 / 25)
    assert source.captured == 23 and source.end_reason == "end of source"


def test_fps_option_overrides_the_container(tmp_path):
    path = write_video(tmp_path / "v.avi", 3, fps=25)
    with VideoSource(path, fps=10) as source:
        assert source.fps == 10 and source.fps_from == "option"


def test_damaged_video_streams_what_it_can(tmp_path):
    path = write_video(tmp_path / "v.avi", 30, fps=25)
    data = path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])
    capture = cv2.VideoCapture(str(cut))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 30  # the container still claims 30
    capture.release()
    with VideoSource(cut) as source:
        assert source.frames_announced == 30
        taken = drain(source)
    assert 5 < len(taken) < 30
    assert [t.frame.index for t in taken] == list(range(len(taken)))
    # Cut short: the end says how short, against the count the header announced.
    assert source.end_reason == f"the video ended after {len(taken)} of the 30 frames its header announced"
    assert source.describe()["frames_read"] == len(taken) and source.describe()["frames_announced"] == 30


def test_folder_in_natural_order_skips_unreadable_images(tmp_path):
    for i in (0, 1, 2, 10, 11):
        cv2.imwrite(str(tmp_path / f"frame_{i}.png"), np.full((8, 8, 3), level(i), np.uint8))
    (tmp_path / "frame_3.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored")
    with FolderSource(tmp_path, fps=5) as source:
        assert len(source.files) == 6
        taken = drain(source)
    # Position in the folder is the index (frame_3 was unreadable, so 4 is frame_10).
    assert [t.frame.index for t in taken] == [0, 1, 2, 4, 5]
    assert [int(t.frame.image[0, 0, 0]) for t in taken] == [level(i) for i in (0, 1, 2, 10, 11)]
    assert source.describe()["unreadable_files"] == 1


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.mp4", "does not exist"),
    (lambda p: (p / "garbage.mp4").write_bytes(os.urandom(4000)) and p / "garbage.mp4", "cannot open"),
    (lambda p: (p / "empty.avi").write_bytes(b"") == 0 and p / "empty.avi", "cannot open"),
])
def test_bad_videos_fail_fast(tmp_path, make, message):
    start = time.monotonic()
    with pytest.raises(SourceError, match=message):
        VideoSource(make(tmp_path))
    assert time.monotonic() - start < 5


def test_bad_folders_fail_fast(tmp_path):
    with pytest.raises(SourceError, match="holds no images"):
        FolderSource(tmp_path)
    with pytest.raises(SourceError, match="does not exist"):
        FolderSource(tmp_path / "nope")
    (tmp_path / "a.png").write_bytes(b"junk")
    with pytest.raises(SourceError, match="could be read"):
        FolderSource(tmp_path)


def test_exactly_one_source_and_no_offline_camera():
    with pytest.raises(ConfigError, match="exactly one"):
        open_source()
    with pytest.raises(ConfigError, match="exactly one"):
        open_source(camera=0, video="x.mp4")
    with pytest.raises(ConfigError, match="always real time"):
        open_source(camera=0, realtime=False)


def test_missing_camera_fails_fast():
    start = time.monotonic()
    with pytest.raises(SourceError, match="camera 9"):
        open_source(camera=9)
    assert time.monotonic() - start < 5


def test_paced_video_takes_the_newest_arrived_frame(tmp_path):
    # 10 fps: frame i arrives at t0 + 100 ms * i. The loop asks at chosen virtual times.
    clock = VirtualClock()
    path = write_video(tmp_path / "v.avi", 12, fps=10)
    source = VideoSource(path, realtime=True, clock=clock, sleep=clock.sleep)
    source.start(3)
    t0 = clock.now
    first = source.read()
    assert first.frame.index == 0 and first.frame.captured_ns == t0
    clock.advance_ms(350)               # frames 1, 2, 3 arrived; 3 is the newest
    taken = source.read()
    assert taken.frame.index == 3 and [f.index for f in taken.recent] == [1, 2, 3]
    assert taken.frame.captured_ns == t0 + 300_000_000  # when a camera would have delivered it
    assert decoded_index(taken.frame.image.mean()) == 3
    taken = source.read()               # nothing new yet: waits (virtual sleep) for frame 4
    assert taken.frame.index == 4 and clock.now == t0 + 400_000_000
    clock.advance_ms(10_000)            # long stall: the last frame is the newest
    assert source.read().frame.index == 11
    assert source.read() is None
    source.stop()
    assert source.captured == 12


class FakeCamera:
    """A capture device: delivers ``frames`` frames, then fails; opens counted by the caller."""

    def __init__(self, frames, period_s=0.002, block: threading.Event | None = None):
        self.left = frames
        self.period_s = period_s
        self.block = block
        self.released = False

    def isOpened(self):  # noqa: N802
        return True

    def read(self):
        if self.block is not None:
            self.block.wait(10)
            return False, None
        if self.left <= 0:
            return False, None
        self.left -= 1
        time.sleep(self.period_s)
        return True, np.full((6, 8, 3), 7, np.uint8)

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def set(self, prop, value):
        return prop == cv2.CAP_PROP_BUFFERSIZE

    def release(self):
        self.released = True


def test_live_source_reconnects_a_bounded_number_of_times_then_ends():
    opened = []

    def opener():
        # The first device delivers 1 (validation) + 20 frames; reconnections give 5, then nothing.
        camera = FakeCamera(21 if not opened else 5 if len(opened) == 1 else 0)
        opened.append(camera)
        return camera

    source = LiveSource(opener, "camera 7", reconnect=2, reconnect_delay_s=0.01)
    assert source.fps == 30 and source.fps_from == "device" and source.live and source.realtime
    source.start(4)
    indices = []
    while (taken := source.read()) is not None:
        indices.append(taken.frame.index)
        assert len(taken.recent) <= 4
    source.stop()
    # 25 frames after start: 20, then 5 after the first reconnection; two failed attempts in a row end it.
    assert source.captured == 25
    assert indices == sorted(set(indices)) and indices[-1] == 24
    assert source.reconnects == 3  # one that worked, two that did not
    assert "gave up after 2 reconnection attempts" in source.end_reason
    assert all(camera.released for camera in opened)


def test_live_source_that_never_delivers_fails_within_the_deadline():
    gate = threading.Event()
    start = time.monotonic()
    with pytest.raises(SourceError, match="no frame within 0.3 s"):
        LiveSource(lambda: FakeCamera(0, block=gate), "camera 5", first_frame_timeout_s=0.3)
    gate.set()
    assert time.monotonic() - start < 3


def test_live_source_whose_open_hangs_fails_within_the_deadline():
    gate = threading.Event()

    def hanging_open():
        gate.wait(10)
        return FakeCamera(1)

    start = time.monotonic()
    with pytest.raises(SourceError, match="did not answer within 0.3 s"):
        LiveSource(hanging_open, "stream x", open_timeout_s=0.3)
    gate.set()
    assert time.monotonic() - start < 3


def test_url_passwords_stay_out_of_reports():
    assert redact_url("rtsp://robot:s3cret@10.0.0.2:554/cam") == "rtsp://robot:***@10.0.0.2:554/cam"
    assert redact_url("http://host/stream") == "http://host/stream"


def test_stream_url_through_opencv_grabs_everything_and_ends_when_it_stops(tmp_path):
    # A file:// URL goes through the live path (FFmpeg, grabber thread) and "stops" at its end.
    path = write_video(tmp_path / "v.avi", 20, fps=10)
    source = open_source(url=path.resolve().as_uri(), reconnect=0)
    assert source.kind == "url" and source.live and source.fps == 10
    taken = drain(source, history=3)
    indices = [t.frame.index for t in taken]
    assert indices and indices == sorted(set(indices)) and indices[-1] == 18
    assert all(decoded_index(t.frame.image.mean()) == t.frame.index + 1 for t in taken)  # +1: validation frame
    assert source.captured == 19  # frame 0 was read at open, to check the stream delivers
    assert source.end_reason == f"stream {path.resolve().as_uri()} stopped delivering frames"
    stamps = [t.frame.captured_ns for t in taken]
    assert stamps == sorted(stamps)


def test_live_source_with_a_hung_driver_ends_after_the_stall_timeout():
    gate = threading.Event()
    cameras = []

    def opener():
        # Validation frame, then the driver hangs inside read().
        camera = FakeCamera(1)
        cameras.append(camera)
        return camera

    source = LiveSource(opener, "camera 3", stall_timeout_s=0.4)
    cameras[0].block = gate  # every read from now on hangs until the gate opens
    source.start(2)
    start = time.monotonic()
    assert source.read() is None
    assert 0.3 < time.monotonic() - start < 3
    assert source.end_reason == "camera 3 delivered no frame for 0.4 s"
    gate.set()
    source.stop()
