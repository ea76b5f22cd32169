"""SwiftNet (Orsic et al., 2019) with a ResNet-18 encoder, for any input window.

Pre-ReLU stage features as skips, spatial pyramid pooling over the stride-32
features, three upsampling modules (1x1 skip bottleneck, bilinear upsample
and add, 3x3 blend, 128 channels), 1x1 logits. ``extended=True`` is the
paper's SwiftNet-R18-X stem conv(3T,130,7x7,s2)-BN-ReLU-conv(130,64,3x3,s1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flame.trainer.backbones import resnet18
from flame.trainer.blocks import check_input_size, interp, largest_divisor_at_most


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
            gh = largest_divisor_at_most(height, grid)
            gw = largest_divisor_at_most(width, max(1, round(grid * width / height)))
            pooled = F.avg_pool2d(x, kernel_size=(height // gh, width // gw))
            outs.append(interp(conv(pooled), (height, width)))
        return self.fuse(torch.cat(outs, 1))


class UpsampleModule(nn.Module):
    """1x1 bottleneck on the skip, bilinear upsample and add, 3x3 blend."""

    def __init__(self, skip_channels: int, channels: int = 128) -> None:
        super().__init__()
        self.bottleneck = BNReLUConv(skip_channels, channels, 1)
        self.blend = BNReLUConv(channels, channels, 3)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        skip = self.bottleneck(skip)
        return self.blend(interp(x, skip.shape[2:]) + skip)


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
        return interp(self.logits(y), (height, width))
