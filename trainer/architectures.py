"""The registry of network architectures: one entry per name the trainer, the card and the CLIs use.

Each :class:`Architecture` says how to build the network and the facts other
code used to read from its name: its display name, the paper's recipe
(:mod:`flame.trainer.presets`), which torchvision ImageNet weights fit its
encoder, and whether its stem is new (so no ImageNet file can fill it). Layers below the trainer (runtime,
evaluation, core) only see the name as a plain string (``card.architecture``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from flame.core.errors import ConfigError
from flame.trainer.deeplab import DeepLabV3Plus
from flame.trainer.presets import DEEPLAB, SWIFTNET, Recipe
from flame.trainer.swiftnet import SwiftNet


@dataclass(frozen=True)
class Architecture:
    """One network of the registry.

    Attributes:
        name: the registry key (``--model``, ``card.architecture``).
        display: the name people write (``SwiftNet-R18``).
        build: ``(num_classes, window) -> module`` mapping ``[N, 3T, H, W]`` to logits ``[N, C, H, W]``.
        preset: the paper's training recipe of its family.
        pretrained: the torchvision model whose ImageNet state dict fits the encoder.
        new_stem: the encoder's ``conv1`` is new by design (SwiftNet-R18-X): no ImageNet file fills it.
    """

    name: str
    display: str
    build: Callable[[int, int], nn.Module]
    preset: Recipe
    pretrained: str
    new_stem: bool = False


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (
    Architecture("swiftnet-r18", "SwiftNet-R18", lambda c, t: SwiftNet(c, t), SWIFTNET, "resnet18"),
    Architecture("swiftnet-r18-x", "SwiftNet-R18-X", lambda c, t: SwiftNet(c, t, extended=True), SWIFTNET,
                 "resnet18", new_stem=True),
    Architecture("deeplabv3plus-mobilenetv2", "DeepLabV3+ MobileNetV2",
                 lambda c, t: DeepLabV3Plus(c, t, "mobilenetv2"), DEEPLAB, "mobilenet_v2"),
    Architecture("deeplabv3plus-r101", "DeepLabV3+ ResNet-101", lambda c, t: DeepLabV3Plus(c, t, "r101"), DEEPLAB,
                 "resnet101"),
)}
MODEL_NAMES = tuple(ARCHITECTURES)


def architecture(name: str) -> Architecture:
    """The registry entry of a model name.

    Raises:
        ConfigError: on an unknown name (listing the known ones).
    """
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}") from None


def preset_for(model: str) -> Recipe:
    """The paper's recipe for a model name.

    Raises:
        ConfigError: on an unknown model name.
    """
    return architecture(model).preset
