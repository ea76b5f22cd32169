"""Building the registry's networks, and the encoder facts training needs.

``build_model(name, num_classes, window)`` maps float ``[N, 3*window, H, W]``
(normalised, frames oldest first) to logits ``[N, num_classes, H, W]``; the
names and their builders are in :mod:`flame.trainer.architectures`, the
networks in :mod:`flame.trainer.swiftnet` and :mod:`flame.trainer.deeplab`.

Export-friendly: pooling sizes are integers computed from the (static)
feature size, ``F.interpolate`` always gets explicit sizes, and sides must be
multiples of 32 (:func:`check_input_size`).
"""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn

from flame.core.errors import CheckpointError, ConfigError, first_line
from flame.trainer.architectures import MODEL_NAMES, architecture
from flame.trainer.backbones import MobileNetV2
from flame.trainer.blocks import STRIDE, check_input_size

__all__ = ["MODEL_NAMES", "STRIDE", "build_model", "check_input_size", "count_parameters", "encoder_parameters",
           "first_conv_key", "load_pretrained"]


def build_model(name: str, num_classes: int, window: int = 1) -> nn.Module:
    """Build one of the paper's networks.

    Args:
        name: one of :data:`~flame.trainer.architectures.MODEL_NAMES`.
        num_classes: output classes.
        window: input frames T; the first convolution takes 3*T channels.

    Returns:
        A module mapping ``[N, 3T, H, W]`` to logits ``[N, C, H, W]``.

    Raises:
        ConfigError: on an unknown name, or non-positive classes/window.
    """
    entry = architecture(name)
    if num_classes < 1 or window < 1:
        raise ConfigError(f"expected num_classes >= 1 and window >= 1, found {num_classes} and {window}")
    return entry.build(num_classes, window)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def encoder_parameters(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(encoder parameters, the rest), for the smaller encoder learning rate."""
    encoder = list(model.encoder.parameters())
    ids = {id(p) for p in encoder}
    return encoder, [p for p in model.parameters() if id(p) not in ids]


def first_conv_key(model: nn.Module) -> str:
    """State-dict key of the encoder's first convolution weight (in encoder naming)."""
    if isinstance(model.encoder, MobileNetV2):
        return "features.0.0.weight"
    return "conv1.0.weight" if isinstance(model.encoder.conv1, nn.Sequential) else "conv1.weight"


def load_pretrained(model: nn.Module, path: str | os.PathLike) -> dict[str, int]:
    """Load ImageNet weights in torchvision's state-dict format into the encoder.

    The classifier (``fc``/``classifier``) is dropped. For a window T > 1 the
    current (last) frame's slice of the first convolution takes the RGB
    weights and the earlier frames' slices are He-initialised (paper 4.2.1).
    The SwiftNet-R18-X stem is new and keeps its He initialisation.

    Returns:
        ``{"loaded": n, "skipped": m}`` tensor counts.

    Raises:
        CheckpointError: when the file is unreadable or nothing in it fits.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"pretrained weights {path} not found") from exc
    except Exception as exc:
        # torch's messages span many lines; the first says what went wrong.
        raise CheckpointError(
            f"cannot read pretrained weights {path} ({first_line(exc, 160, typed=True)}); expected a torchvision "
            "state dict saved with torch.save"
        ) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} is not a state dict (torchvision format expected)")
    own = model.encoder.state_dict()
    first = first_conv_key(model)
    new: dict[str, Tensor] = {}
    skipped = 0
    for key, value in state.items():
        key = key.removeprefix("module.").removeprefix("backbone.")
        if key not in own or not isinstance(value, Tensor):
            skipped += 1
            continue
        target = own[key]
        if key == first and value.ndim == 4 and value.shape[1] == 3 and target.shape[1] % 3 == 0 \
                and target.shape[0] == value.shape[0] and target.shape[1] > 3:
            widened = torch.empty_like(target)
            nn.init.kaiming_normal_(widened, mode="fan_out", nonlinearity="relu")
            widened[:, -3:] = value
            new[key] = widened
        elif value.shape == target.shape:
            new[key] = value
        else:
            skipped += 1
    if not new:
        raise CheckpointError(
            f"no tensor in {path} fits the {type(model.encoder).__name__} encoder; expected torchvision "
            "weights of the matching backbone (resnet18, resnet101 or mobilenet_v2)"
        )
    model.encoder.load_state_dict(new, strict=False)
    return {"loaded": len(new), "skipped": skipped}
