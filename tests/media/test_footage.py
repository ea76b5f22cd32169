"""Footage as robots record it: bags of both storages and image messages, videos with real timestamps,
image folders with damage; frames and times always agree."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from flame.core.errors import ConfigError, SourceError
from flame.media import interval_stats, open_footage
from flame.media.bag_writer import LabelBagWriter
from flame_testing.bags import EPOCH_NS, T, frames_with_index, image_message, write_bag, write_image_bag

TIMES = [0.0, 0.033, 0.066, 0.166, 0.2]  # a dropped frame: 100 ms between frames 2 and 3


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
@pytest.mark.parametrize("kind, encoding", [("Image", "bgr8"), ("Image", "rgb8"), ("Image", "mono8"),
                                            ("CompressedImage", "png"), ("CompressedImage", "jpeg")])
def test_bag_frames_and_header_stamps(tmp_path, storage, kind, encoding):
    frames = frames_with_index(len(TIMES))
    write_image_bag(tmp_path / "bag", frames, TIMES, storage, kind, encoding)
    footage = open_footage(bag=tmp_path / "bag")
    assert footage.topic == "/camera/image_raw" and footage.time_source == "header stamps"
    np.testing.assert_allclose(footage.timestamps(), TIMES, atol=1e-9)
    read = list(footage.frames())
    assert len(read) == len(footage) == len(TIMES) and footage.skipped == 0
    for original, decoded in zip(frames, read):
        assert decoded.shape == original.shape and decoded.dtype == np.uint8
        if encoding == "mono8":
            expected = cv2.cvtColor(cv2.cvtColor(original, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
            np.testing.assert_array_equal(decoded, expected)
        elif encoding == "jpeg":
            assert np.abs(decoded.astype(int) - original).mean() < 3
        else:
            np.testing.assert_array_equal(decoded, original)
    # frames(start) starts there
    np.testing.assert_array_equal(next(footage.frames(3)), read[3])


def test_a_gap_in_the_stamps_is_found(tmp_path):
    write_image_bag(tmp_path / "bag", frames_with_index(len(TIMES)), TIMES)
    stats = interval_stats(open_footage(bag=tmp_path / "bag").timestamps())
    # Intervals 33, 33, 100, 34 ms: median 33.5, the 100 ms one is a gap before frame 3.
    assert stats.count == 4 and stats.p50_ms == pytest.approx(33.5) and stats.max_ms == pytest.approx(100.0)
    assert [index for index, _ in stats.gaps] == [3] and stats.gaps[0][1] == pytest.approx(100.0)
    assert stats.fps == pytest.approx(1000 / 33.5)


def test_interval_stats_by_hand():
    stats = interval_stats(np.array([0.0, 0.1, 0.2, 0.3, 0.6]))
    assert stats.count == 4 and stats.mean_ms == pytest.approx(150.0) and stats.p50_ms == pytest.approx(100.0)
    assert stats.gaps == ((4, pytest.approx(300.0)),)
    assert interval_stats(np.array([0.0])).count == 0


def test_single_mcap_file_and_a_damaged_message(tmp_path):
    frames = frames_with_index(4)
    messages = [(EPOCH_NS + i * 50_000_000, image_message(f, EPOCH_NS + i * 50_000_000, "CompressedImage", "png"),
                 "sensor_msgs/msg/CompressedImage") for i, f in enumerate(frames)]
    broken = messages[1][1]
    broken.data = np.frombuffer(b"not a png at all", np.uint8)
    write_bag(tmp_path / "bag", {"/cam": messages})
    mcap = next((tmp_path / "bag").glob("*.mcap"))
    footage = open_footage(bag=mcap)
    np.testing.assert_allclose(footage.timestamps(), [0.0, 0.1, 0.15], atol=1e-9)
    assert footage.skipped == 1
    read = list(footage.frames())
    np.testing.assert_array_equal(read[1], frames[2])
    assert "1 damaged frame(s) skipped" in footage.describe()


def test_topic_choice_and_its_errors(tmp_path):
    frames = frames_with_index(2)
    msg = "sensor_msgs/msg/Image"
    write_bag(tmp_path / "two", {"/left": [(EPOCH_NS, image_message(frames[0], EPOCH_NS), msg)],
                                 "/right": [(EPOCH_NS, image_message(frames[1], EPOCH_NS), msg)]})
    with pytest.raises(SourceError, match="2 image topics: /left, /right; choose one with topic") as error:
        open_footage(bag=tmp_path / "two")
    assert error.value.parameter == "topic"
    np.testing.assert_array_equal(next(open_footage(bag=tmp_path / "two", topic="/right").frames()), frames[1])
    with pytest.raises(SourceError, match="no image topic /front; its image topics: /left, /right"):
        open_footage(bag=tmp_path / "two", topic="/front")
    value = T["std_msgs/msg/Float64"](data=1.0)
    write_bag(tmp_path / "none", {"/speed": [(EPOCH_NS, value, "std_msgs/msg/Float64")]})
    with pytest.raises(SourceError, match=r"has no image topic .*its topics: /speed \(std_msgs/msg/Float64\)"):
        open_footage(bag=tmp_path / "none")


def test_unsupported_encoding_is_named(tmp_path):
    message = image_message(frames_with_index(1)[0], EPOCH_NS)
    message.encoding = "bayer_rggb8"
    write_bag(tmp_path / "bag", {"/cam": [(EPOCH_NS, message, "sensor_msgs/msg/Image")]})
    with pytest.raises(SourceError, match="encoding 'bayer_rggb8' is not supported"):
        open_footage(bag=tmp_path / "bag").timestamps()


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_corrupt_bag(tmp_path, storage):
    write_image_bag(tmp_path / "bag", frames_with_index(20, (48, 64)), storage=storage)
    data = next(p for p in (tmp_path / "bag").iterdir() if p.suffix in (".mcap", ".db3"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])
    with pytest.raises(SourceError, match=r"bag .* (cannot be read|is damaged)"):
        open_footage(bag=tmp_path / "bag").timestamps()
    (tmp_path / "junk.mcap").write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError):
        open_footage(bag=tmp_path / "junk.mcap").timestamps()


def _write_vfr_video(path: Path, pts_ms: list[int]) -> list[np.ndarray]:
    import av

    frames = [np.full((24, 32, 3), 40 * i, np.uint8) for i in range(len(pts_ms))]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        for frame, pts in zip(frames, pts_ms):
            out = av.VideoFrame.from_ndarray(frame, format="bgr24")
            out.pts, out.time_base = pts, Fraction(1, 1000)
            for packet in stream.encode(out):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return frames


def test_video_presentation_timestamps_with_a_gap(tmp_path):
    frames = _write_vfr_video(tmp_path / "vfr.mp4", [0, 33, 67, 167, 200])
    footage = open_footage(video=tmp_path / "vfr.mp4")
    assert footage.time_source == "presentation timestamps"
    np.testing.assert_allclose(footage.timestamps(), [0, 0.033, 0.067, 0.167, 0.2], atol=0.002)
    assert [i for i, _ in interval_stats(footage.timestamps()).gaps] == [3]
    read = list(footage.frames())
    assert len(read) == 5 and all(abs(int(r.mean()) - int(f.mean())) < 6 for r, f in zip(read, frames))
    # --fps replaces the recorded times, and says so.
    nominal = open_footage(video=tmp_path / "vfr.mp4", fps=10)
    np.testing.assert_allclose(nominal.timestamps(), np.arange(5) / 10)
    assert "ignored" in nominal.time_source


def test_constant_rate_video_from_opencv(tmp_path):
    writer = cv2.VideoWriter(str(tmp_path / "v.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 24))
    for i in range(6):
        writer.write(np.full((24, 32, 3), 30 * i, np.uint8))
    writer.release()
    footage = open_footage(video=tmp_path / "v.avi")
    np.testing.assert_allclose(footage.timestamps(), np.arange(6) / 25, atol=1e-6)
    assert int(next(footage.frames(4)).mean()) in range(115, 126)


def test_image_folder_skips_damage_and_other_files(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    frames = frames_with_index(4)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame{i}.png"), frame)
    (folder / "frame10.png").write_bytes(b"\x89PNG broken")  # sorts last in natural order
    (folder / "notes.txt").write_text("not an image")
    (folder / "frame2.png").write_bytes((folder / "frame2.png").read_bytes()[:20])  # truncated
    footage = open_footage(frames=folder, fps=10)
    assert footage.skipped == 2
    # Frame times count every image file: the damaged frame2 leaves a gap.
    np.testing.assert_allclose(footage.timestamps(), [0.0, 0.1, 0.3])
    read = list(footage.frames())
    np.testing.assert_array_equal(read[2], frames[3])


def test_open_footage_refuses_bad_requests(tmp_path):
    with pytest.raises(ConfigError, match="exactly one of video, frames or bag"):
        open_footage()
    with pytest.raises(ConfigError, match="exactly one"):
        open_footage(video="a.mp4", bag="b")
    with pytest.raises(ConfigError, match="topic applies to a bag only"):
        open_footage(video="a.mp4", topic="/x")
    with pytest.raises(SourceError, match="does not exist"):
        open_footage(bag=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no images"):
        open_footage(frames=tmp_path / "empty")


def test_label_bag_round_trip(tmp_path):
    labels = [np.arange(12, dtype=np.uint8).reshape(3, 4) + i for i in range(3)]
    stamps = [EPOCH_NS + 10, EPOCH_NS + 40_000_010, EPOCH_NS + 90_000_010]
    with LabelBagWriter(tmp_path / "run") as writer:
        for label, stamp in zip(labels, stamps):
            writer.write(label, stamp, 12.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging folder left
    footage = open_footage(bag=tmp_path / "run", topic="/flame/labels")
    np.testing.assert_allclose(footage.timestamps(), [0.0, 0.04, 0.09], atol=1e-12)
    np.testing.assert_array_equal(footage.stamps_ns, stamps)  # the stamps exactly, as integers
    read = list(footage.frames())
    for label, image in zip(labels, read):
        np.testing.assert_array_equal(image[..., 0], label)
    with pytest.raises(ConfigError, match="exists"):
        LabelBagWriter(tmp_path / "run")
