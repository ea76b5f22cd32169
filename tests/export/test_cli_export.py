"""flame-export: end-to-end exports through the CLI, and one clear line with exit 2 on bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from flame_testing.engine_artifacts import CLASSES, SIZE
from flame.cli.export import human_size, main
from flame.runtime.engines import load_engine
from flame.runtime.engines.tensorrt import missing_for_tensorrt


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_fp16_onnx_end_to_end(artifacts, tmp_path):
    out = tmp_path / "model.fp16.onnx"
    result = run(artifacts.checkpoint, "-o", out, "--fp16")
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "onnx fp16" in result.output
    assert "MB" in result.output  # the artifact's size
    assert "pixel agreement with the PyTorch wrapper" in result.output and "nodes kept in FP32" in result.output
    with load_engine(out, device="cpu") as engine:
        assert engine.card.precision == "fp16" and engine.card.backend == "onnx"
        labels = engine(artifacts.windows[0])
    assert labels.shape == SIZE and labels.dtype == np.uint8


def test_torch_logits_default_output_next_to_checkpoint(artifacts, tmp_path):
    checkpoint = tmp_path / "best.pt"
    shutil.copy(artifacts.checkpoint, checkpoint)
    result = run(checkpoint, "--format", "torch", "--output", "logits")
    assert result.exit_code == 0, result.output
    out = tmp_path / "best.pt2"
    assert out.is_file() and f"wrote {out}" in result.output
    assert "max |logit difference|" in result.output
    with load_engine(out, device="cpu") as engine:
        assert engine.card.output == "logits"
        logits = engine.raw(artifacts.windows[0])
        labels = engine(artifacts.windows[0])
    assert logits.shape == (CLASSES, *SIZE) and logits.dtype == np.float32
    # Called, the engine returns labels: the argmax of its logits.
    assert labels.dtype == np.uint8 and np.array_equal(labels, logits.argmax(axis=0))


def test_missing_checkpoint(tmp_path):
    result = run(tmp_path / "nope.pt", "--no-verify")
    assert result.exit_code == 2
    assert result.output.strip() == f"error: checkpoint {tmp_path / 'nope.pt'} does not exist"


def test_garbage_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file" * 10)
    result = run(bad)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot read checkpoint")


def test_checkpoint_without_card(tmp_path):
    from flame.trainer.models import build_model

    path = tmp_path / "nocard.pt"
    torch.save({"model": build_model("swiftnet-r18", 3, 1).state_dict(), "epoch": 1, "card": None}, path)
    result = run(path)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "no usable model card" in lines[0]


@pytest.mark.parametrize("args, message", [
    (["--size", "100x100"], "not a multiple of 32"),
    (["--size", "big"], "expected a size as HxW"),
    (["-o", "x.onnx", "--format", "torch"], "does not fit --format torch"),
    (["-o", "x.txt", "--format", "onnx"], "does not fit --format onnx"),
    (["-o", "x.txt"], "cannot tell the format"),
])
def test_bad_options(artifacts, tmp_path, args, message):
    if args[0] == "-o":
        args = ["-o", tmp_path / args[1], *args[2:]]
    result = run(artifacts.checkpoint, *args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


@pytest.mark.skipif(not missing_for_tensorrt(), reason="TensorRT and a CUDA device are present")
def test_tensorrt_without_tensorrt(artifacts, tmp_path):
    result = run(artifacts.checkpoint, "--format", "tensorrt", "--fp16", "--timing-cache", tmp_path / "c")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: TensorRT cannot run here:")
    assert not list(tmp_path.iterdir())


def test_subprocess_bad_input(tmp_path):
    exe = shutil.which("flame-export")
    command = [exe] if exe else [sys.executable, "-c", "from flame.cli.export import main; main()"]
    done = subprocess.run([*command, str(tmp_path / "missing.pt")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: checkpoint {tmp_path / 'missing.pt'} does not exist"
    assert "Traceback" not in done.stderr


def test_human_size():
    assert human_size(999) == "999 B"
    assert human_size(47_394_422) == "47.4 MB"
    assert human_size(2_500_000_000) == "2.5 GB"


def test_an_artifact_made_with_other_options_is_never_silently_replaced(artifacts, tmp_path):
    # README's own sequence: best.onnx, then --size/--output logits into the same default name.
    checkpoint = tmp_path / "best.pt"
    shutil.copy(artifacts.checkpoint, checkpoint)
    out = tmp_path / "best.onnx"
    assert run(checkpoint, "--no-verify").exit_code == 0
    before = out.read_bytes()
    height, width = SIZE
    result = run(checkpoint, "--size", f"{2 * height}x{2 * width}", "--output", "logits", "--no-verify")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        f"error: {out} already holds an export made with other options (input size {height}x{width} there, "
        f"{2 * height}x{2 * width} now; output labels there, logits now); pass --force to overwrite it, "
        "or choose another --out")
    assert out.read_bytes() == before  # untouched
    # The same model and options: replaced, and said so.
    result = run(checkpoint, "--no-verify")
    assert result.exit_code == 0 and f"replaced the earlier best.onnx (same model and options)" in result.output
    # --force replaces it whatever it holds.
    result = run(checkpoint, "--output", "logits", "--no-verify", "--force")
    assert result.exit_code == 0, result.output
    with load_engine(out, device="cpu") as engine:
        assert engine.card.output == "logits"
    # A file that is not a FLAME export is not replaced either.
    (tmp_path / "notes.onnx").write_text("my notes")
    result = run(checkpoint, "-o", tmp_path / "notes.onnx", "--no-verify")
    assert result.exit_code == 2 and "is not a FLAME onnx export" in result.output and "--force" in result.output
    assert (tmp_path / "notes.onnx").read_text() == "my notes"
