"""``flame-eval`` on your own footage: a video, a folder and bags, against a teacher or itself; bad input
is one line and exit 2, with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from flame_testing.bags import T, write_bag, write_image_bag
from flame_testing.tiny_engines import write_tiny_onnx

EVAL = [sys.executable, "-m", "flame.cli.eval"]
SIZE = (48, 64)


def moving_frames(count: int) -> list[np.ndarray]:
    """A bright bar sweeping right 6 px per frame over a dark field: labels change as time passes."""
    frames = []
    for i in range(count):
        frame = np.full((*SIZE, 3), 30, np.uint8)
        frame[:, 6 * i % SIZE[1]: 6 * i % SIZE[1] + 16] = 230
        frames.append(frame)
    return frames


@pytest.fixture()
def engines(tmp_path):
    return {"e": write_tiny_onnx(tmp_path / "e.onnx", 1, SIZE), "teacher": write_tiny_onnx(tmp_path / "t.onnx", 2, SIZE),
            "three": write_tiny_onnx(tmp_path / "three.onnx", 1, SIZE, classes=3),
            "small": write_tiny_onnx(tmp_path / "small.onnx", 1, (24, 32))}


def run(*args, cwd):
    return subprocess.run(EVAL + [str(a) for a in args], capture_output=True, text=True, timeout=180, cwd=cwd)


def test_self_reference_on_a_video(tmp_path, engines):
    writer = cv2.VideoWriter(str(tmp_path / "drive.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, SIZE[::-1])
    for frame in moving_frames(12):
        writer.write(frame)
    writer.release()
    done = run("--engine", engines["e"], "--video", tmp_path / "drive.avi", "--reference", "self", "--latency", 150,
               "--json", tmp_path / "out" / "r.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "r.json").read_text())
    assert report["miou"] == 1.0  # its own output is the reference: static agreement is 1 by definition
    assert report["k"] == 2 and report["fps"] == pytest.approx(10.0)  # 150 ms at the video's 10 fps
    assert 0.0 < report["flame"] < 1.0 and report["flame_by_k"]["0"] == 1.0
    assert report["reference"]["kind"] == "self" and "static agreement is 1 by definition" in \
        report["reference"]["description"]
    assert report["footage"]["time_source"] == "presentation timestamps"
    assert report["footage"]["intervals"]["gaps"] == [] and report["pairs"] == 12
    assert (tmp_path / "out" / "flame-reference").is_dir()  # cached beside the report


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_teacher_on_a_bag_with_a_gap_then_cached(tmp_path, engines, storage):
    times = [0.1 * i for i in (0, 1, 2, 3, 4, 5, 8, 9, 10, 11)]  # 300 ms gap before frame 6
    write_image_bag(tmp_path / "bag", moving_frames(10), times, storage=storage, encoding="rgb8")
    first = run("--engine", engines["e"], "--bag", tmp_path / "bag", "--reference", engines["teacher"],
                "--latency", 50, "--json", "r1.json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads((tmp_path / "r1.json").read_text())
    assert "not ground truth" in report["reference"]["description"] and report["reference"]["cached"] is False
    assert report["footage"]["intervals"]["gaps"][0]["frame"] == 6
    assert report["k"] == 1 and report["pairs"] == 10
    assert "FLAME against the teacher" in first.stdout
    second = run("--engine", engines["e"], "--bag", tmp_path / "bag", "--reference", engines["teacher"],
                 "--latency", 50, "--json", "r2.json", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    again = json.loads((tmp_path / "r2.json").read_text())
    assert again["reference"]["cached"] is True and "read from" in second.stderr
    assert again["flame"] == report["flame"] and again["miou"] == report["miou"]


def test_frames_folder_at_its_fps(tmp_path, engines):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(moving_frames(8)):
        cv2.imwrite(str(folder / f"{i}.png"), frame)
    done = run("--engine", engines["e"], "--frames", folder, "--fps", 20, "--reference", engines["teacher"],
               "--latency", 120, "--json", "r.json", "--no-streaming", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["k"] == 3 and report["fps"] == pytest.approx(20.0) and report["footage"]["time_source"] == "--fps 20"


def bad(tmp_path, *args):
    done = run(*args, "--json", "r.json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "r.json").exists()
    return lines[0]


def test_bad_input_one_line_and_nothing_written(tmp_path, engines):
    write_image_bag(tmp_path / "bag", moving_frames(4))
    e = engines["e"]
    assert "other classes" in bad(tmp_path, "--engine", e, "--bag", tmp_path / "bag", "--reference", engines["three"])
    assert "--force" in bad(tmp_path, "--engine", e, "--bag", tmp_path / "bag", "--reference", engines["small"])
    assert "is a folder" in bad(tmp_path, "--engine", e, "--bag", tmp_path / "bag", "--reference", tmp_path)
    assert "too short for k = 5" in bad(tmp_path, "--engine", e, "--bag", tmp_path / "bag", "--reference", "self",
                                        "--latency", 150)
    assert "no image topic /front" in bad(tmp_path, "--engine", e, "--bag", tmp_path / "bag", "--topic", "/front",
                                          "--reference", "self")
    write_bag(tmp_path / "speed", {"/speed": [(0, T["std_msgs/msg/Float64"](data=1.0), "std_msgs/msg/Float64")]})
    assert "no image topic" in bad(tmp_path, "--engine", e, "--bag", tmp_path / "speed", "--reference", "self")
    data = next((tmp_path / "bag").glob("*.mcap"))
    data.write_bytes(data.read_bytes()[:200])
    assert "bag" in bad(tmp_path, "--engine", e, "--bag", tmp_path / "bag", "--reference", "self")
    assert "--reference" in bad(tmp_path, "--engine", e, "--reference", "self")
    assert "needs --engine and --reference" in bad(tmp_path, "--engine", e, "--video", tmp_path / "x.mp4")


def test_force_scores_against_a_teacher_of_another_size(tmp_path, engines):
    write_image_bag(tmp_path / "bag", moving_frames(6), encoding="mono8")
    done = run("--engine", engines["e"], "--bag", tmp_path / "bag", "--reference", engines["small"], "--force",
               "--latency", 10, "--json", "r.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r.json").read_text())["pairs"] == 6
