"""ResNet and MobileNetV2 encoders with torchvision's parameter names.

Written here (not imported from torchvision) so that training needs only
torch, while ImageNet weights saved by torchvision
(``torchvision.models.resnet18(weights=...).state_dict()``) load unchanged
with :func:`flame.trainer.models.load_pretrained`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def conv3x3(cin: int, cout: int, stride: int = 1, dilation: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution without bias, padded to keep the size at stride 1."""
    return nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, groups=groups, bias=False)


class BasicBlock(nn.Module):
    """ResNet-18/34 block; :meth:`forward_pre` returns the sum before the ReLU."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride, dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes, dilation=dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward_pre(self, x: Tensor) -> Tensor:
        """The residual sum before the final ReLU (SwiftNet's skip feature)."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out)) + identity

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.forward_pre(x))


class Bottleneck(nn.Module):
    """ResNet-50/101 block (stride on the 3x3 convolution, as torchvision)."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward_pre(self, x: Tensor) -> Tensor:
        """The residual sum before the final ReLU."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out)) + identity

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.forward_pre(x))


class ResNet(nn.Module):
    """ResNet encoder (no classifier) returning the four stage outputs.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        layers: blocks per stage.
        in_channels: input channels (3 x window).
        dilate_last: replace the last stage's stride with dilation 2 (output stride 16).
        stem: optional replacement of ``conv1`` (SwiftNet-R18-X).
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: list[int], in_channels: int = 3,
                 dilate_last: bool = False, stem: nn.Module | None = None) -> None:
        super().__init__()
        self.inplanes = 64
        self.dilation = 1
        self.conv1 = stem if stem is not None else nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2, dilate=dilate_last)
        self.channels = [64 * block.expansion, 128 * block.expansion, 256 * block.expansion, 512 * block.expansion]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> nn.Sequential:
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        # As torchvision: the block that loses its stride keeps the old dilation.
        layers = [block(self.inplanes, planes, stride, downsample, previous_dilation)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward_stages(self, x: Tensor, pre_activation: bool = False) -> list[Tensor]:
        """Outputs of the four stages (strides 4, 8, 16, 32 or 16 when dilated).

        With ``pre_activation`` the returned features are taken before the
        last block's ReLU (SwiftNet); the next stage still gets the ReLU'd ones.
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        features = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for blk in layer[:-1]:
                x = blk(x)
            pre = layer[-1].forward_pre(x)
            x = torch.relu(pre)
            features.append(pre if pre_activation else x)
        return features


def resnet18(in_channels: int = 3, stem: nn.Module | None = None) -> ResNet:
    """ResNet-18 encoder."""
    return ResNet(BasicBlock, [2, 2, 2, 2], in_channels, stem=stem)


def resnet101(in_channels: int = 3, dilate_last: bool = True) -> ResNet:
    """ResNet-101 encoder, output stride 16 by default."""
    return ResNet(Bottleneck, [3, 4, 23, 3], in_channels, dilate_last=dilate_last)


class ConvBNReLU6(nn.Sequential):
    """torchvision's ``Conv2dNormActivation`` with ReLU6 (same parameter names)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, dilation: int = 1):
        padding = (kernel - 1) // 2 * dilation
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, padding, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """MobileNetV2 block with torchvision's parameter names."""

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = int(round(cin * expand_ratio))
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden, dilation=dilation),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 feature extractor (``features.0`` .. ``features.17``), output stride 16.

    The last stride-2 stage runs at stride 1 with dilation 2, as DeepLabV3+
    does; the final 1x1 convolution to 1280 channels is not built.
    """

    # t (expansion), c (channels), n (blocks), s (stride)
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    LOW_LEVEL_END = 4  # features[0:4] -> stride 4, 24 channels

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [ConvBNReLU6(in_channels, 32, stride=2)]
        cin, stride_so_far, dilation = 32, 2, 1
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                stride = s if i == 0 else 1
                if stride == 2 and stride_so_far == 16:
                    stride, dilation = 1, 2
                elif stride == 2:
                    stride_so_far *= 2
                layers.append(InvertedResidual(cin, c, stride, t, dilation))
                cin = c
        self.features = nn.Sequential(*layers)
        self.channels = [24, 320]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """Low-level (stride 4) and high-level (stride 16) features."""
        low = self.features[: self.LOW_LEVEL_END](x)
        return [low, self.features[self.LOW_LEVEL_END :](low)]
