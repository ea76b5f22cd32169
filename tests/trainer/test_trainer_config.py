"""Modes, offsets and presets: what a training run resolves to."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flame.core.errors import CheckpointError, ConfigError
from flame.evaluation.datasets.base import SequenceDataset
from flame.trainer.config import TrainOptions, merge_resume, resolve_config, resolve_offsets


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
    assert (swift.optimizer, swift.lr, swift.weight_decay, swift.schedule, swift.min_lr) == ("adam", 5e-4, 1e-4, "cosine", 1e-6)
    assert (swift.batch_size, swift.epochs, swift.crop, swift.input_size) == (12, 200, (768, 768), (1024, 2048))
    assert swift.encoder_lr == 5e-4  # from scratch the encoder learns at the full rate
    deeplab = resolve_config(TrainOptions(out="o", model="deeplabv3plus-r101", pretrained="w.pth"), _data(), (128, 256))
    assert (deeplab.optimizer, deeplab.lr, deeplab.encoder_lr, deeplab.momentum) == ("sgd", 5e-2, 5e-3, 0.9)
    assert (deeplab.weight_decay, deeplab.schedule, deeplab.power, deeplab.batch_size, deeplab.epochs) == \
        (5e-4, "poly", 3.0, 10, 220)
    assert deeplab.crop == (128, 256)  # the 768 crop is capped at the input size
    small = resolve_config(TrainOptions(out="o", model="swiftnet-r18", crop=(64, 64), input_size=(96, 160),
                                        batch_size=3, lr=1e-3, epochs=5), _data(), (100, 150))
    assert (small.crop, small.input_size, small.batch_size, small.lr, small.epochs) == ((64, 64), (96, 160), 3, 1e-3, 5)
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
