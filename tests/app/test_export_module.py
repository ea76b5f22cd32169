"""flame.export.export_module: any torch module (normalised float in, logits out, maybe smaller) with a card."""

import numpy as np
import pytest
import torch

from flame.core.card import ModelCard
from flame.export import export_module
from flame.runtime.engines import load_engine


class QuarterNet(torch.nn.Module):
    """Logits at 1/4 of the input, from the normalised colour (3 classes)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.conv = torch.nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.conv(torch.nn.functional.avg_pool2d(x, 4))


CARD = ModelCard(architecture="quarter-net", num_classes=3, class_names=("a", "b", "c"),
                 palette=((0, 0, 0), (255, 0, 0), (0, 255, 0)), input_size=(64, 96), mode="custom")


@pytest.mark.parametrize("suffix", [".onnx", ".pt2"])
def test_a_module_with_small_logits_exports_and_agrees(tmp_path, suffix):
    result = export_module(QuarterNet().eval(), CARD, tmp_path / f"q{suffix}")
    assert result.parity.passed and result.parity.agreement >= 0.999, result.parity.summary()
    with load_engine(result.path) as engine:
        frames = np.random.default_rng(0).integers(0, 256, (1, 64, 96, 3), dtype=np.uint8)
        labels = engine(frames)
    assert labels.shape == (64, 96) and labels.dtype == np.uint8
    assert engine.card.architecture == "quarter-net" and engine.card.num_classes == 3


def test_the_module_sees_normalised_rgb_and_labels_follow_its_logits(tmp_path):
    # What the module receives: BGR bytes -> RGB, (x/255 - mean)/std with the card's statistics, so a red pixel
    # gives R = (255/255 - 0.5) / 0.25 = 2 and a black one -2 (were the channels not flipped, red would read -2).
    class Probe(torch.nn.Module):
        def forward(self, x):
            return torch.stack([x[:, 0], -x[:, 0]], 1)  # class 0 where the red channel is positive

    card = CARD.replace(num_classes=2, class_names=("red", "not red"), palette=((255, 0, 0), (0, 0, 0)),
                        input_size=(32, 32), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    result = export_module(Probe().eval(), card, tmp_path / "probe.onnx")
    assert result.parity.passed
    frames = np.zeros((1, 32, 32, 3), np.uint8)
    frames[..., 2] = 255  # red in BGR
    with load_engine(result.path) as engine:
        assert engine(frames).max() == 0  # all "red"
        frames[..., 2] = 0
        assert engine(frames).min() == 1


def test_a_module_with_the_wrong_class_count_is_refused(tmp_path):
    from flame.core.errors import ConfigError

    with pytest.raises(ConfigError, match="3 classes.*returns 5"):
        export_module(torch.nn.Conv2d(3, 5, 1).eval(), CARD, tmp_path / "x.onnx")
