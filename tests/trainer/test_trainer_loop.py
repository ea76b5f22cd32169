"""The training loop: learning, checkpoints, resume after Ctrl-C, and two processes under torchrun."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from flame.evaluation.datasets import SyntheticSpec, open_dataset, write_synthetic
from flame.trainer import load_checkpoint, predict
from flame.trainer.config import TrainOptions, resolve_config
from flame.trainer.data import Augmentation, WindowDataset, normalise
from flame.trainer.models import build_model
from flame.trainer.optim import make_optimizer, segmentation_loss
from flame.trainer.reporting import Reporter
from flame.trainer.train import train


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory):
    """Synthetic video: 2 train sequences and 1 val sequence of 6 frames at 32x64, 30 fps."""
    root = tmp_path_factory.mktemp("video") / "synth"
    return str(write_synthetic(SyntheticSpec(size=(32, 64), frames=6, sequences=2, val_sequences=1), root))


def _options(out, root, **changes) -> TrainOptions:
    base = dict(out=str(out), model="swiftnet-r18", mode="two-frame", offset=1, dataset="synthetic", data_root=root,
                epochs=2, iters_per_epoch=2, batch_size=2, workers=0, device="cpu", seed=3)
    base.update(changes)
    return TrainOptions(**base)


def test_a_few_steps_on_a_tiny_batch_lower_the_loss(tiny_video):
    data = open_dataset("synthetic", tiny_video, "train")
    config = resolve_config(_options("o", tiny_video, lr=1e-3), data, (32, 64))
    samples = WindowDataset(data, 1, 2, (32, 64), Augmentation(crop=(32, 64)), seed=0)
    frames = torch.stack([samples[i][0] for i in range(4)])
    labels = torch.stack([samples[i][1] for i in range(4)])
    torch.manual_seed(0)
    model = build_model("swiftnet-r18", data.num_classes, 2).train()
    optimizer = make_optimizer(model, config)
    losses = []
    for _ in range(8):
        loss = segmentation_loss(model(normalise(frames, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.6 * losses[0], losses


def test_all_void_labels_give_zero_loss_not_nan():
    loss = segmentation_loss(torch.randn(2, 3, 4, 4, requires_grad=True), torch.full((2, 4, 4), 255))
    assert float(loss.detach()) == 0.0
    loss.backward()


class _StopAt(Reporter):
    """Simulates Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch: int) -> None:
        self.stop, self.epoch = epoch, 0

    def start_epoch(self, epoch, epochs, steps):
        self.epoch = epoch

    def step(self, done, loss, images_per_s):
        if self.epoch == self.stop:
            raise KeyboardInterrupt


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_checkpoints_interrupt_and_resume_reproduce_the_run(tmp_path, tiny_video):
    straight = train(_options(tmp_path / "a", tiny_video))
    assert straight.epochs_done == 2
    lines_a = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines_a] == [1, 2]
    assert all(m["val_miou"] is not None and 0 <= m["val_flame"] <= 1 for m in lines_a)
    # Cosine from 5e-4 to 1e-6 over 2 epochs x 2 steps: half-way after epoch 1, 1e-6 at the end.
    assert lines_a[0]["lr"] == pytest.approx((5e-4 + 1e-6) / 2) and lines_a[1]["lr"] == pytest.approx(1e-6)

    # The checkpoint is a plain dict with its card, readable without pickle code.
    data = torch.load(tmp_path / "a" / "last.pt", map_location="cpu", weights_only=True)
    assert {"model", "optimizer", "scheduler", "epoch", "config", "card", "rng"} <= set(data)
    assert data["epoch"] == 2 and data["config"]["model"] == "swiftnet-r18"
    assert (data["config"]["lr"], data["config"]["crop"]) == (5e-4, [32, 64])  # recipe keys stay flat
    card = data["card"]
    assert (card["architecture"], card["window"], card["offset"], card["mode"], card["fps"]) == \
        ("swiftnet-r18", 2, 1, "two-frame", 30.0)
    assert card["num_classes"] == 5 and len(card["class_names"]) == 5 and len(card["palette"]) == 5
    assert card["input_size"] == [32, 64] and card["mean"] == [0.485, 0.456, 0.406]
    assert (tmp_path / "a" / "best.pt").is_file()
    model, loaded = load_checkpoint(tmp_path / "a" / "best.pt")
    # Issue 22: best.pt holds the weights and the card only (no optimiser state: a third of last.pt's size).
    best = torch.load(tmp_path / "a" / "best.pt", map_location="cpu", weights_only=True)
    assert sorted(best) == ["best", "best_epoch", "card", "epoch", "model"] and best["card"] == card
    assert (tmp_path / "a" / "best.pt").stat().st_size < 0.5 * (tmp_path / "a" / "last.pt").stat().st_size
    labels = predict(model, loaded, np.zeros((2, 32, 64, 3), np.uint8))
    assert labels.shape == (32, 64) and labels.dtype == np.uint8 and labels.max() < 5

    # Ctrl-C in epoch 2 leaves epoch 1's last.pt untouched.
    marks = {}
    with pytest.raises(KeyboardInterrupt):
        train(_options(tmp_path / "b", tiny_video), _StopAt(2),
              on_epoch_end=lambda e: marks.setdefault(e, _digest(tmp_path / "b" / "last.pt")))
    assert list(marks) == [1] and _digest(tmp_path / "b" / "last.pt") == marks[1]
    assert not [p for p in os.listdir(tmp_path / "b") if p.endswith(".tmp")]

    # Resuming with no options but --out continues at epoch 2 with the same schedule, data and weights.
    resumed = train(TrainOptions(out=str(tmp_path / "b"), resume=True))
    assert resumed.epochs_done == 2 and [m["epoch"] for m in resumed.metrics] == [2]
    lines_b = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines_b] == [1, 2]
    for a, b in zip(lines_a, lines_b):
        assert a["lr"] == b["lr"] and a["encoder_lr"] == b["encoder_lr"]
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
    final_a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    final_b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert final_b["epoch"] == 2 and final_b["scheduler"]["last_epoch"] == final_a["scheduler"]["last_epoch"] == 4
    for key, value in final_a["model"].items():
        assert torch.allclose(value.float(), final_b["model"][key].float(), atol=1e-4), key


def test_two_processes_under_torchrun_write_one_checkpoint(tmp_path, tiny_video):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FLAME_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "flame.cli.train", "--model", "deeplabv3plus-mobilenetv2", "--mode", "future", "--offset", "1",
           "--data-root", tiny_video, "--epochs", "1", "--iters-per-epoch", "1", "--batch-size", "2",
           "--workers", "0", "--device", "cpu", "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert sorted(os.listdir(out)) == ["best.pt", "last.pt", "metrics.jsonl"]
    data = torch.load(out / "last.pt", weights_only=True)
    assert data["epoch"] == 1 and data["world_size"] == 2 and len(data["rng"]) == 2
    assert data["card"]["architecture"] == "deeplabv3plus-mobilenetv2" and data["card"]["offset"] == 1
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    assert proc.stdout.count("trained deeplabv3plus-mobilenetv2") == 1  # only rank 0 prints
