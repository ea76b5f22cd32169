"""``flame-train`` bad input: one clear line on stderr, exit status 2, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from flame.cli.train import main
from flame.evaluation.datasets import SyntheticSpec, open_dataset, write_synthetic
from flame.trainer.checkpoint import save_checkpoint
from flame.trainer.config import TrainOptions, resolve_config
from flame.trainer.models import build_model
from flame.trainer.setup import make_card


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("cli-video") / "synth"
    return str(write_synthetic(SyntheticSpec(size=(32, 64), frames=4, sequences=1, val_sequences=1), root))


@pytest.fixture(scope="module")
def cityscapes(tmp_path_factory) -> str:
    """A Cityscapes tree: one 20-frame snippet per split, annotated at its frame 19."""
    root = tmp_path_factory.mktemp("cityscapes")
    for split in ("train", "val"):
        frames = root / "leftImg8bit_sequence" / split / "aachen"
        gt = root / "gtFine" / split / "aachen"
        frames.mkdir(parents=True)
        gt.mkdir(parents=True)
        for f in range(20):
            cv2.imwrite(str(frames / f"aachen_000000_{f:06d}_leftImg8bit.png"), np.full((32, 64, 3), 10 * f, np.uint8))
        label = np.full((32, 64), 7, np.uint8)  # road
        label[:, 32:] = 26  # car
        cv2.imwrite(str(gt / "aachen_000000_000019_gtFine_labelIds.png"), label)
    return str(root)


def _fails_with(args: list[str], pattern: str) -> None:
    result = CliRunner().invoke(main, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert re.search(pattern, lines[0]), lines[0]


def test_unknown_model_lists_the_names(tmp_path):
    _fails_with(["--model", "unet", "--out", str(tmp_path / "r")],
                "unknown model 'unet'; choose one of swiftnet-r18, swiftnet-r18-x, deeplabv3plus-mobilenetv2, "
                "deeplabv3plus-r101")
    _fails_with(["--out", str(tmp_path / "r")], "--model is required")


def test_missing_data_root(tmp_path):
    _fails_with(["--model", "swiftnet-r18", "--dataset", "cityscapes", "--out", str(tmp_path / "r")],
                "--dataset cityscapes needs --data-root")
    _fails_with(["--model", "swiftnet-r18", "--dataset", "folder", "--data-root", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "r")], "data root .*nowhere does not exist")


def test_offsets_cityscapes_cannot_supply(tmp_path, cityscapes):
    base = ["--model", "swiftnet-r18", "--dataset", "cityscapes", "--data-root", cityscapes, "--out", str(tmp_path / "r")]
    _fails_with(base + ["--mode", "future", "--offset", "20"], "k=20 .* needs 20 frames .* at most 19")
    _fails_with(base + ["--mode", "two-frame", "--offset", "19"], "k=19 with a window of 2 .* needs 20 frames")
    # 1200 ms at Cityscapes' 17 fps is k = 21.
    _fails_with(base + ["--mode", "future", "--latency-ms", "1200"], "k=21")
    _fails_with(base + ["--mode", "future"], "--mode future needs --offset K or --latency-ms L")


def test_sizes_that_are_not_multiples_of_32(tmp_path, tiny_video):
    base = ["--model", "swiftnet-r18", "--data-root", tiny_video, "--out", str(tmp_path / "r")]
    _fails_with(base + ["--crop", "100"], "--crop: input size 100x100 is not a multiple of 32 on both sides; use height 96 or 128")
    _fails_with(base + ["--input-size", "64x100"], "--input-size: .* width 96 or 128")
    _fails_with(["--model", "swiftnet-r18", "--size", "100x200", "--out", str(tmp_path / "r")], "--size: ")
    _fails_with(base + ["--size", "64x64"], "--size sets the frame size of the generated synthetic video")


def test_pretrained_file_that_does_not_fit(tmp_path, tiny_video):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a torch file")
    base = ["--model", "swiftnet-r18", "--data-root", tiny_video, "--batch-size", "2", "--out", str(tmp_path / "r")]
    _fails_with(base + ["--pretrained", str(bad)], "cannot read pretrained weights")
    other = tmp_path / "mobilenet.pth"
    torch.save(build_model("deeplabv3plus-mobilenetv2", 19).encoder.state_dict(), other)
    _fails_with(base + ["--pretrained", str(other)], "no tensor in .* fits the ResNet encoder")


def _fake_run(out: Path, root: str, weights_of: str) -> None:
    """A last.pt whose config says swiftnet-r18 but whose weights are ``weights_of``'s."""
    data = open_dataset("synthetic", root, "train")
    config = resolve_config(TrainOptions(out=str(out), model="swiftnet-r18", data_root=root, epochs=2,
                                         batch_size=2), data, (32, 64))
    save_checkpoint(out / "last.pt", {"model": build_model(weights_of, 5, 1).state_dict(), "epoch": 1,
                                      "card": make_card(config, data).to_dict(), "config": config.to_dict(),
                                      "optimizer": {}, "scheduler": {}})


def test_resume_refuses_corrupt_missing_and_mismatched_checkpoints(tmp_path, tiny_video):
    out = tmp_path / "run"
    _fails_with(["--out", str(out), "--resume"], "checkpoint .*last.pt does not exist")
    out.mkdir()
    (out / "last.pt").write_bytes(b"\x00garbage")
    _fails_with(["--out", str(out), "--resume"], "cannot read checkpoint .*corrupt")
    _fake_run(out, tiny_video, "deeplabv3plus-mobilenetv2")
    _fails_with(["--out", str(out), "--resume", "--model", "deeplabv3plus-r101"],
                "last.pt was trained with --model swiftnet-r18, this run asks for --model deeplabv3plus-r101")
    _fails_with(["--out", str(out), "--resume", "--workers", "0", "--device", "cpu"],
                "weights in .*last.pt do not fit swiftnet-r18")
    # Without --resume an existing run is never overwritten.
    _fails_with(["--model", "swiftnet-r18", "--data-root", tiny_video, "--out", str(out)],
                "already holds a training run .* pass --resume")


def test_real_process_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "flame.cli.train", "--model", "swiftnet-r18", "--mode", "future",
                           "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --mode future needs --offset K or --latency-ms L (the network's latency; k = ceil(L*fps/1000))"]
