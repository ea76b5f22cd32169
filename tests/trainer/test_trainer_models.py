"""The paper's four networks: sizes, shapes, input checks and ImageNet weights."""

from __future__ import annotations

import pytest
import torch

from flame.core.errors import CheckpointError, ConfigError
from flame.trainer.config import TrainConfig
from flame.trainer.models import build_model, check_input_size, count_parameters, load_pretrained
from flame.trainer.presets import Recipe
from flame.trainer.setup import attach_pretrained

# Paper section 4.2: SwiftNet-R18 about 12M, DeepLab-MN about 5.5M, DeepLab-R101 about 60M (59M in the issue).
PAPER = {"swiftnet-r18": 12e6, "deeplabv3plus-mobilenetv2": 5.5e6, "deeplabv3plus-r101": 59e6}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_parameter_counts_are_near_the_paper(name):
    count = count_parameters(build_model(name, 19, 1))
    assert abs(count - PAPER[name]) / PAPER[name] < 0.10, count


def test_extended_stem_adds_about_85k_parameters():
    base = count_parameters(build_model("swiftnet-r18", 19, 1))
    extended = count_parameters(build_model("swiftnet-r18-x", 19, 1))
    # conv(3,130,7x7) + BN(130) + conv(130,64,3x3) - conv(3,64,7x7) = 19110 + 260 + 74880 - 9408
    assert extended - base == 84842


@pytest.mark.parametrize("name", ["swiftnet-r18", "swiftnet-r18-x", "deeplabv3plus-mobilenetv2", "deeplabv3plus-r101"])
@pytest.mark.parametrize("window", [1, 2])
def test_logits_at_input_size(name, window):
    model = build_model(name, 7, window).eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3 * window, 64, 96))
    assert logits.shape == (1, 7, 64, 96)
    assert torch.isfinite(logits).all()


def test_unknown_names_and_odd_sizes_are_refused_clearly():
    with pytest.raises(ConfigError, match="swiftnet-r18, swiftnet-r18-x, deeplabv3plus-mobilenetv2, deeplabv3plus-r101"):
        build_model("unet", 19)
    with pytest.raises(ConfigError, match="use height 96 or 128 and width 192"):
        check_input_size(100, 192)
    with pytest.raises(ConfigError):
        build_model("swiftnet-r18", 3)(torch.zeros(1, 3, 64, 80))


def test_pretrained_rgb_weights_go_to_the_current_frame(tmp_path):
    donor = build_model("swiftnet-r18", 19, 1).encoder.state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save({**donor, "fc.weight": torch.zeros(1000, 512)}, path)  # torchvision layout, classifier included
    model = build_model("swiftnet-r18", 19, 2)
    counts = load_pretrained(model, path)
    assert counts["loaded"] == len(donor) and counts["skipped"] == 1
    first = model.encoder.conv1.weight
    assert first.shape == (64, 6, 7, 7)
    assert torch.equal(first[:, 3:], donor["conv1.weight"])  # newest frame = last slice
    assert not torch.equal(first[:, :3], donor["conv1.weight"]) and first[:, :3].std() > 0


def _config(model: str, pretrained: str) -> TrainConfig:
    recipe = Recipe(optimizer="adam", lr=1e-3, encoder_lr=1e-3, weight_decay=0.0, momentum=0.0, schedule="cosine",
                    min_lr=0.0, power=1.0, batch_size=2, crop=(64, 64), epochs=1)
    return TrainConfig(model=model, mode="static", window=1, offset=0, eval_offset=0, latency_ms=None, fps=30.0,
                       dataset="synthetic", data_root=None, size=None, input_size=(64, 64), iters_per_epoch=None,
                       recipe=recipe, seed=0, pretrained=pretrained, workers=0, device="cpu", amp=None,
                       max_val_sequences=None)


def test_a_pretrained_file_of_another_backbone_is_refused(tmp_path):
    path = tmp_path / "mobilenet.pth"
    torch.save(build_model("deeplabv3plus-mobilenetv2", 19, 1).encoder.state_dict(), path)
    with pytest.raises(CheckpointError, match="no tensor in .* fits the ResNet encoder"):
        attach_pretrained(build_model("swiftnet-r18", 19, 1), _config("swiftnet-r18", str(path)))
    # ResNet-101 weights share a few names and shapes with ResNet-18 (conv1, bn1): still not a fit.
    path = tmp_path / "resnet101.pth"
    torch.save(build_model("deeplabv3plus-r101", 19, 1).encoder.state_dict(), path)
    with pytest.raises(CheckpointError, match="fill only .* expected torchvision resnet18 weights"):
        attach_pretrained(build_model("swiftnet-r18", 19, 1), _config("swiftnet-r18", str(path)))
    # The right backbone fits the -X variant too (its new stem stays He-initialised).
    path = tmp_path / "resnet18.pth"
    torch.save(build_model("swiftnet-r18", 19, 1).encoder.state_dict(), path)
    assert "loaded" in attach_pretrained(build_model("swiftnet-r18-x", 19, 1), _config("swiftnet-r18-x", str(path)))
    assert "from scratch" in attach_pretrained(build_model("swiftnet-r18", 19, 1), _config("swiftnet-r18", None))
