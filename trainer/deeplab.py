"""DeepLabV3+ at output stride 16 over a MobileNetV2 or dilated ResNet-101 encoder, for any input window.

ASPP (1x1, rates 6/12/18, image pooling; 256 channels), 48-channel low-level
projection at stride 4, two 3x3 decoder convolutions.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flame.core.errors import ConfigError
from flame.trainer.backbones import MobileNetV2, ResNet, resnet101
from flame.trainer.blocks import check_input_size, interp

BACKBONES = ("mobilenetv2", "r101")


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
        if backbone not in BACKBONES:
            raise ConfigError(f"unknown DeepLabV3+ backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
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
        y = self.decoder(torch.cat([interp(y, low.shape[2:]), low], 1))
        return interp(self.classifier(y), (height, width))
