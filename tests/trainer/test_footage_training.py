"""``flame-train --dataset video|bag|frames --teacher``: the teacher labels every frame once (cached), the
student trains on the teacher's labels of frame t+k; bad combinations are one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from flame_testing.bags import write_image_bag
from flame_testing.tiny_engines import write_tiny_onnx

TRAIN = [sys.executable, "-m", "flame.cli.train"]


def bar_frames(count: int) -> list[np.ndarray]:
    frames = []
    for i in range(count):
        frame = np.full((64, 64, 3), 40, np.uint8)
        frame[:, (5 * i) % 48:(5 * i) % 48 + 16] = 220
        frames.append(frame)
    return frames


def train(tmp_path, *args):
    env = {**os.environ, "FLAME_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run(TRAIN + [str(a) for a in args], capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)


def test_a_student_trains_on_the_teachers_labels_of_a_bag(tmp_path):
    write_image_bag(tmp_path / "bag", bar_frames(12), storage="sqlite3")
    teacher = write_tiny_onnx(tmp_path / "teacher.onnx", 1, (64, 64))
    common = ["--model", "swiftnet-r18", "--mode", "future", "--offset", "1", "--dataset", "bag", "--data-root",
              tmp_path / "bag", "--teacher", teacher, "--epochs", "1", "--iters-per-epoch", "1", "--batch-size", "2",
              "--workers", "0"]
    done = train(tmp_path, *common, "--out", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert "labels every frame once" in done.stderr and "not ground truth" in done.stdout + done.stderr
    checkpoint = torch.load(tmp_path / "run" / "last.pt", weights_only=True)  # best.pt holds weights and card only
    card, config = checkpoint["card"], checkpoint["config"]
    assert card["class_names"] == ["c0", "c1", "c2", "c3"] and card["input_size"] == [64, 64]
    assert config["dataset"] == "bag" and config["teacher"] == str(teacher.resolve()) and config["offset"] == 1
    cached = sorted(p.name for p in (tmp_path / "cache" / "footage").iterdir())
    assert len([name for name in cached if name.startswith("reference-")]) == 1
    stamp = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "footage").rglob("*")}
    again = train(tmp_path, *common, "--out", tmp_path / "run2")
    assert again.returncode == 0, again.stderr
    # The second run read the teacher's labels and the decoded frames from the cache: nothing rewritten.
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "footage").rglob("*")} == stamp


@pytest.mark.parametrize("args, says", [
    (["--dataset", "video", "--data-root", "x.mp4"], "give --teacher"),
    (["--dataset", "folder", "--data-root", ".", "--teacher", "t.onnx"], "--teacher applies to footage"),
    (["--dataset", "bag", "--teacher", "t.onnx"], "needs --data-root"),
])
def test_bad_combinations(tmp_path, args, says):
    done = train(tmp_path, "--model", "swiftnet-r18", *args, "--out", tmp_path / "run")
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert not (tmp_path / "run" / "last.pt").exists()
