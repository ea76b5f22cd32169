"""Modes, offsets and presets: what a training run resolves to."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flame.core.errors import CheckpointError, ConfigError
from flame.evaluation.datasets.base import SequenceDataset
from flame.trainer.config import TrainConfig, TrainOptions, merge_resume, resolve_config, resolve_offsets
from flame.trainer.presets import Recipe


def _data(fps: float = 17.0) -> SequenceDataset:
    return SequenceDataset("d", ["a", "b"], np.zeros((2, 3), np.uint8), [], fps)


def test_modes_give_the_papers_windows_and_offsets():
    # Paper table 1 latencies at Cityscapes' 17 fps: SwiftNet 26 ms -> k=1, DeepLab-MN 76 -> 2, R101 195 -> 4.
    assert resolve_offsets("future", None, None, 26.0, 17.0) == (1, 1, 1, "future")
    assert resolve_offsets("two-frame", None, None, 76.0, 17.0) == (2, 2, 2, "two-frame")
    assert resolve_offsets("future", None, None, 195.0, 17.0)[1] == 4
    # Static trains on S_t; a latency only moves the validation FLAME offset (experiment 1).
    assert resolve_offsets("static", None, None, 195.0, 17.0) == (1, 0, 4, "static")
    assert resolve_offsets("static", None, None, None, 17.0) == (1, 0, 0, "static")
    # An exact multiple is not bumped; --offset works alone; other windows are "custom".
    assert resolve_offsets("future", None, None, 100.0, 10.0)[1] == 1
    assert resolve_offsets("two-frame", 3, 2, None, 30.0) == (3, 2, 2, "custom")


def test_offset_problems_are_config_errors():
    with pytest.raises(ConfigError, match="mode future needs offset K or latency_ms L"):
        resolve_offsets("future", None, None, None, 17.0)
    with pytest.raises(ConfigError, match="disagrees"):
        resolve_offsets("future", None, 3, 26.0, 17.0)


def test_presets_and_overrides():
    swift = resolve_config(TrainOptions(out="o", model="swiftnet-r18", mode="future", offset=1), _data(), (1024, 2048))
    sr = swift.recipe
    assert (sr.optimizer, sr.lr, sr.weight_decay, sr.schedule, sr.min_lr) == ("adam", 5e-4, 1e-4, "cosine", 1e-6)
    assert (sr.batch_size, sr.epochs, sr.crop, swift.input_size) == (12, 200, (768, 768), (1024, 2048))
    assert sr.encoder_lr == 5e-4  # from scratch the encoder learns at the full rate
    deeplab = resolve_config(TrainOptions(out="o", model="deeplabv3plus-r101", pretrained="w.pth"), _data(), (128, 256))
    dr = deeplab.recipe
    assert (dr.optimizer, dr.lr, dr.encoder_lr, dr.momentum) == ("sgd", 5e-2, 5e-3, 0.9)
    assert (dr.weight_decay, dr.schedule, dr.power, dr.batch_size, dr.epochs) == (5e-4, "poly", 3.0, 10, 220)
    assert dr.crop == (128, 256)  # the 768 crop is capped at the input size
    small = resolve_config(TrainOptions(out="o", model="swiftnet-r18", crop=(64, 64), input_size=(96, 160),
                                        batch_size=3, lr=1e-3, epochs=5), _data(), (100, 150))
    assert (small.recipe.crop, small.input_size, small.recipe.batch_size, small.recipe.lr, small.recipe.epochs) == \
        ((64, 64), (96, 160), 3, 1e-3, 5)
    assert resolve_config(TrainOptions(out="o", model="swiftnet-r18"), _data(), (100, 150)).input_size == (96, 160)


@pytest.mark.parametrize("options, message", [
    (dict(model="resnet"), "unknown model 'resnet'; choose one of swiftnet-r18"),
    (dict(model="swiftnet-r18", crop=(100, 100)), "crop: input size 100x100 is not a multiple of 32"),
    (dict(model="swiftnet-r18", input_size=(64, 70)), "input_size: .* width 64 or 96"),
    (dict(model="swiftnet-r18", mode="sideways"), "unknown mode"),
    (dict(model="deeplabv3plus-mobilenetv2", batch_size=1), "batch_size >= 2"),
    (dict(model="swiftnet-r18", epochs=0), "epochs must be > 0"),
    (dict(), "model is required"),
])
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(TrainOptions(out="o", **options), _data(), (64, 64))


def test_resume_keeps_the_stored_run_and_refuses_a_different_model():
    stored = resolve_config(TrainOptions(out="o", model="swiftnet-r18", mode="future", offset=1, epochs=3), _data(),
                            (64, 64))
    same = merge_resume(stored, TrainOptions(out="o", model="swiftnet-r18", workers=0, device="cpu"), "last.pt")
    assert same == dataclasses.replace(stored, workers=0, device="cpu")
    for options, name in [(dict(model="deeplabv3plus-r101"), "model"), (dict(offset=2), "offset"),
                          (dict(mode="two-frame"), "mode"), (dict(epochs=4), "epochs")]:
        with pytest.raises(CheckpointError, match=f"last.pt was trained with {name} .* this run asks for {name}") as caught:
            merge_resume(stored, TrainOptions(out="o", **options), "last.pt")
        assert caught.value.parameter == name


#: The ``config`` of a checkpoint written before the recipe had its own class (keys flat, sizes as lists):
#: DeepLab-MN, future mode at 76 ms and 17 fps (k = 2), 3 epochs, from ImageNet weights.
OLD_CONFIG = {
    "model": "deeplabv3plus-mobilenetv2", "mode": "future", "window": 1, "offset": 2, "eval_offset": 2,
    "latency_ms": 76.0, "fps": 17.0, "dataset": "cityscapes", "data_root": "/data/city", "size": None,
    "crop": [128, 256], "input_size": [128, 256], "epochs": 3, "iters_per_epoch": None, "batch_size": 10,
    "optimizer": "sgd", "lr": 0.05, "encoder_lr": 0.005, "weight_decay": 0.0005, "momentum": 0.9, "schedule": "poly",
    "min_lr": 0.0, "power": 3.0, "seed": 5, "pretrained": "/w/mn.pth", "workers": 2, "device": "cpu", "amp": None,
    "max_val_sequences": None,
}


def test_an_older_flat_config_loads_resumes_and_is_stored_the_same_way():
    config = TrainConfig.from_dict(OLD_CONFIG, "old.pt")
    assert config.recipe == Recipe(optimizer="sgd", lr=0.05, encoder_lr=0.005, weight_decay=0.0005, momentum=0.9,
                                   schedule="poly", min_lr=0.0, power=3.0, batch_size=10, crop=(128, 256), epochs=3)
    assert (config.model, config.offset, config.eval_offset, config.input_size, config.seed) == \
        ("deeplabv3plus-mobilenetv2", 2, 2, (128, 256), 5)
    # New checkpoints store the same flat dict, so code from before the change reads them too.
    assert config.to_dict() == OLD_CONFIG
    resumed = merge_resume(config, TrainOptions(out="o", epochs=3, lr=0.05, crop=(128, 256), workers=0), "old.pt")
    assert resumed == dataclasses.replace(config, workers=0)
    with pytest.raises(CheckpointError, match="old.pt was trained with batch_size 10, this run asks for batch_size 4"):
        merge_resume(config, TrainOptions(out="o", batch_size=4), "old.pt")
    with pytest.raises(CheckpointError, match="old.pt: training config lacks momentum"):
        TrainConfig.from_dict({k: v for k, v in OLD_CONFIG.items() if k != "momentum"}, "old.pt")
