"""``flame-train --init``: a run starts from another FLAME checkpoint's weights."""

from __future__ import annotations

import re

import pytest
import torch
from click.testing import CliRunner

from flame.cli.train import main
from flame.core.card import ModelCard
from flame.core.errors import CheckpointError, ConfigError
from flame.evaluation.datasets import SyntheticSpec, write_synthetic
from flame.trainer.checkpoint import load_checkpoint, save_checkpoint
from flame.trainer.config import TrainOptions
from flame.trainer.init_weights import load_init
from flame.trainer.models import build_model
from flame.trainer.options import check_options


def _static(tmp_path, classes: int = 5, architecture: str = "swiftnet-r18"):
    torch.manual_seed(3)
    model = build_model(architecture, classes, 1).eval()
    card = ModelCard(architecture=architecture, num_classes=classes, class_names=tuple(f"c{i}" for i in range(classes)),
                     palette=tuple((i, i, i) for i in range(classes)), window=1, input_size=(64, 64))
    return model, save_checkpoint(tmp_path / "static.pt", {"model": model.state_dict(), "epoch": 1,
                                                           "card": card.to_dict()})


def test_a_two_frame_network_starts_as_the_static_one(tmp_path):
    static, path = _static(tmp_path)
    torch.manual_seed(9)
    two = build_model("swiftnet-r18", 5, 2).eval()
    note = load_init(two, path, "swiftnet-r18")
    assert "static.pt" in note
    current, earlier = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        want = static(current)
        got = two(torch.cat([earlier, current], dim=1))  # frames oldest first, the current one last
        other = two(torch.cat([torch.rand(1, 3, 64, 64), current], dim=1))
    # Zero weights on the earlier frame: the same output whatever that frame holds, the static network's.
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(other, want, rtol=1e-4, atol=1e-4)


def test_weights_that_do_not_fit_are_refused(tmp_path):
    _, path = _static(tmp_path, classes=5)
    with pytest.raises(CheckpointError, match=r"5 classes\) do not fit this run's network: size mismatch"):
        load_init(build_model("swiftnet-r18", 7, 1), path, "swiftnet-r18")
    with pytest.raises(CheckpointError, match="holds a swiftnet-r18 network; the run trains deeplabv3plus-mobilenetv2"):
        load_init(build_model("deeplabv3plus-mobilenetv2", 5, 1), path, "deeplabv3plus-mobilenetv2")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_init(build_model("swiftnet-r18", 5, 1), tmp_path / "junk.pt", "swiftnet-r18")
    with pytest.raises(ConfigError, match="not both"):
        check_options(TrainOptions(out="o", init="a.pt", pretrained="b.pth"))


def test_the_command_fine_tunes_a_static_run_into_a_two_frame_one(tmp_path):
    data = write_synthetic(SyntheticSpec(size=(32, 64), frames=4, sequences=1, val_sequences=1), tmp_path / "synth")
    common = ["--model", "swiftnet-r18", "--data-root", str(data), "--epochs", "1", "--iters-per-epoch", "1",
              "--batch-size", "2", "--workers", "0", "--device", "cpu"]
    runner = CliRunner()
    static = runner.invoke(main, common + ["--out", str(tmp_path / "s")])
    assert static.exit_code == 0, static.output
    result = runner.invoke(main, common + ["--mode", "two-frame", "--offset", "1", "--init",
                                           str(tmp_path / "s" / "last.pt"), "--out", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert re.search(r"started from the weights of .*last.pt \(static, window 1, offset 0\)", result.output)
    model, card = load_checkpoint(tmp_path / "t" / "last.pt")
    assert card.window == 2 and card.offset == 1
    # A wrong class count fails before training, in one line.
    bad_path = tmp_path / "bad.pt"
    _static(tmp_path / ".", classes=3)[1].rename(bad_path)
    bad = runner.invoke(main, common + ["--init", str(bad_path), "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "do not fit this run's network" in bad.stderr
