"""The paper's four networks, for any input window.

``build_model(name, num_classes, window)`` maps float ``[N, 3*window, H, W]``
(normalised, frames oldest first) to logits ``[N, num_classes, H, W]``:

* ``swiftnet-r18``: SwiftNet (Orsic et al., 2019) with a ResNet-18 encoder,
  pre-ReLU stage features as skips, spatial pyramid pooling over the stride-32
  features, three upsampling modules (1x1 skip bottleneck, bilinear upsample
  and add, 3x3 blend, 128 channels), 1x1 logits;
* ``swiftnet-r18-x``: the paper's eXtended stem
  conv(3T,130,7x7,s2)-BN-ReLU-conv(130,64,3x3,s1);
* ``deeplabv3plus-mobilenetv2`` and ``deeplabv3plus-r101`` (output stride
  16): ASPP (1x1, rates 6/12/18, image pooling; 256 channels), 48-channel
  low-level projection at stride 4, two 3x3 decoder convolutions.

Export-friendly: pooling sizes are integers computed from the (static)
feature size, ``F.interpolate`` always gets explicit sizes, and sides must be
multiples of 32.
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flame.core.errors import CheckpointError, ConfigError, first_line
from flame.trainer.backbones import MobileNetV2, ResNet, resnet18, resnet101

MODEL_NAMES = ("swiftnet-r18", "swiftnet-r18-x", "deeplabv3plus-mobilenetv2", "deeplabv3plus-r101")
STRIDE = 32


def check_input_size(height: int, width: int) -> None:
    """Refuse sides that are not multiples of 32, naming the nearest valid ones.

    Raises:
        ConfigError: when a side is not a positive multiple of 32.
    """
    bad = [side for side in (height, width) if side <= 0 or side % STRIDE]
    if bad:
        def near(side: int) -> str:
            low = max(STRIDE, side // STRIDE * STRIDE)
            return f"{low}" if low >= side else f"{low} or {low + STRIDE}"
        raise ConfigError(
            f"input size {height}x{width} is not a multiple of {STRIDE} on both sides; "
            f"use height {near(height)} and width {near(width)}"
        )


def _interp(x: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    return F.interpolate(x, size=(int(size[0]), int(size[1])), mode="bilinear", align_corners=False)


def _largest_divisor_at_most(n: int, limit: int) -> int:
    return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)


class BNReLUConv(nn.Sequential):
    """SwiftNet's pre-activation unit: BatchNorm, ReLU, convolution."""

    def __init__(self, cin: int, cout: int, kernel: int = 3) -> None:
        super().__init__(nn.BatchNorm2d(cin), nn.ReLU(inplace=False),
                         nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False))


class SpatialPyramidPooling(nn.Module):
    """SwiftNet's SPP: bottleneck, average pools on grids (8, 4, 2, 1) scaled to the aspect ratio, fuse.

    Each grid is rounded down to a divisor of the feature size, so every pool
    is a plain average pool with an integer kernel (exportable at any input
    whose sides are multiples of 32).
    """

    def __init__(self, cin: int, bottleneck: int = 128, out: int = 128, grids: tuple[int, ...] = (8, 4, 2, 1)) -> None:
        super().__init__()
        level = bottleneck // len(grids)
        self.grids = grids
        self.bottleneck = BNReLUConv(cin, bottleneck, 1)
        self.levels = nn.ModuleList(BNReLUConv(bottleneck, level, 1) for _ in grids)
        self.fuse = BNReLUConv(bottleneck + level * len(grids), out, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.bottleneck(x)
        height, width = int(x.shape[2]), int(x.shape[3])
        outs = [x]
        for grid, conv in zip(self.grids, self.levels):
            gh = _largest_divisor_at_most(height, grid)
            gw = _largest_divisor_at_most(width, max(1, round(grid * width / height)))
            pooled = F.avg_pool2d(x, kernel_size=(height // gh, width // gw))
            outs.append(_interp(conv(pooled), (height, width)))
        return self.fuse(torch.cat(outs, 1))


class UpsampleModule(nn.Module):
    """1x1 bottleneck on the skip, bilinear upsample and add, 3x3 blend."""

    def __init__(self, skip_channels: int, channels: int = 128) -> None:
        super().__init__()
        self.bottleneck = BNReLUConv(skip_channels, channels, 1)
        self.blend = BNReLUConv(channels, channels, 3)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        skip = self.bottleneck(skip)
        return self.blend(_interp(x, skip.shape[2:]) + skip)


class ExtendedStem(nn.Sequential):
    """SwiftNet-R18-X stem: conv(3T,130,7x7,s2)-BN-ReLU-conv(130,64,3x3,s1)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, 130, 7, 2, 3, bias=False),
            nn.BatchNorm2d(130),
            nn.ReLU(inplace=True),
            nn.Conv2d(130, 64, 3, 1, 1, bias=False),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


class SwiftNet(nn.Module):
    """SwiftNet with a ResNet-18 encoder (single scale)."""

    def __init__(self, num_classes: int, window: int = 1, extended: bool = False, channels: int = 128) -> None:
        super().__init__()
        in_channels = 3 * window
        self.encoder = resnet18(in_channels, stem=ExtendedStem(in_channels) if extended else None)
        c1, c2, c3, c4 = self.encoder.channels
        self.spp = SpatialPyramidPooling(c4, channels, channels)
        self.up3 = UpsampleModule(c3, channels)
        self.up2 = UpsampleModule(c2, channels)
        self.up1 = UpsampleModule(c1, channels)
        self.logits = BNReLUConv(channels, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        height, width = int(x.shape[2]), int(x.shape[3])
        check_input_size(height, width)
        f1, f2, f3, f4 = self.encoder.forward_stages(x, pre_activation=True)
        y = self.spp(torch.relu(f4))
        y = self.up3(y, f3)
        y = self.up2(y, f2)
        y = self.up1(y, f1)
        return _interp(self.logits(y), (height, width))


def _conv_bn_relu(cin: int, cout: int, kernel: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, padding=(kernel // 2) * dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, three atrous 3x3 and image pooling, projected to 256."""

    def __init__(self, cin: int, channels: int = 256, rates: tuple[int, int, int] = (6, 12, 18)) -> None:
        super().__init__()
        self.convs = nn.ModuleList([_conv_bn_relu(cin, channels, 1)] +
                                   [_conv_bn_relu(cin, channels, 3, r) for r in rates])
        self.pool = _conv_bn_relu(cin, channels, 1)
        self.project = nn.Sequential(_conv_bn_relu(channels * (len(rates) + 2), channels, 1), nn.Dropout(0.1))

    def forward(self, x: Tensor) -> Tensor:
        outs = [conv(x) for conv in self.convs]
        pooled = self.pool(x.mean(dim=(2, 3), keepdim=True))
        outs.append(pooled.expand(-1, -1, x.shape[2], x.shape[3]))
        return self.project(torch.cat(outs, 1))


class DeepLabV3Plus(nn.Module):
    """DeepLabV3+ over a ResNet-101 or MobileNetV2 encoder at output stride 16."""

    def __init__(self, num_classes: int, window: int = 1, backbone: str = "mobilenetv2") -> None:
        super().__init__()
        in_channels = 3 * window
        if backbone == "r101":
            self.encoder: nn.Module = resnet101(in_channels, dilate_last=True)
            low_channels, high_channels = self.encoder.channels[0], self.encoder.channels[3]
        else:
            self.encoder = MobileNetV2(in_channels)
            low_channels, high_channels = self.encoder.channels
        self.backbone = backbone
        self.aspp = ASPP(high_channels)
        self.low_project = _conv_bn_relu(low_channels, 48, 1)
        self.decoder = nn.Sequential(_conv_bn_relu(256 + 48, 256, 3), _conv_bn_relu(256, 256, 3))
        self.classifier = nn.Conv2d(256, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        height, width = int(x.shape[2]), int(x.shape[3])
        check_input_size(height, width)
        if isinstance(self.encoder, ResNet):
            stages = self.encoder.forward_stages(x)
            low, high = stages[0], stages[3]
        else:
            low, high = self.encoder.forward_stages(x)
        y = self.aspp(high)
        low = self.low_project(low)
        y = self.decoder(torch.cat([_interp(y, low.shape[2:]), low], 1))
        return _interp(self.classifier(y), (height, width))


def build_model(name: str, num_classes: int, window: int = 1) -> nn.Module:
    """Build one of the paper's networks.

    Args:
        name: one of :data:`MODEL_NAMES`.
        num_classes: output classes.
        window: input frames T; the first convolution takes 3*T channels.

    Returns:
        A module mapping ``[N, 3T, H, W]`` to logits ``[N, C, H, W]``.

    Raises:
        ConfigError: on an unknown name, or non-positive classes/window.
    """
    if name not in MODEL_NAMES:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    if num_classes < 1 or window < 1:
        raise ConfigError(f"expected num_classes >= 1 and window >= 1, found {num_classes} and {window}")
    if name.startswith("swiftnet"):
        return SwiftNet(num_classes, window, extended=name.endswith("-x"))
    return DeepLabV3Plus(num_classes, window, "r101" if name.endswith("r101") else "mobilenetv2")


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
