"""Foreign segmentation models, written and exported the way users export theirs.

Each is a small torch module exported with ``torch.onnx.export`` (the
TorchScript exporter with ``dynamic_axes``, as mmsegmentation's and SMP's
scripts do). The weights are fixed so that the output varies over the image:
the class scores are linear in the normalised colour, so a wrong channel
order or normalisation changes the labels (the tests rely on that).
"""

from __future__ import annotations

import warnings
from pathlib import Path

#: Classes of the synthetic video (ground, building, car, pedestrian, ball): the models predict 5.
NUM_CLASSES = 5


def _torch():
    import torch

    return torch


def _module(in_channels: int, classes: int, argmax: bool, stride: int, normalise: tuple | None = None):
    """A two-level network: 1/2 and 1/4 features, a lateral add (needs H, W divisible by 4), logits at 1/stride."""
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class Seg(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            generator = torch.Generator().manual_seed(7)
            self.colour = nn.Conv2d(in_channels, classes, 1)
            self.down2 = nn.Conv2d(in_channels, 8, 3, 2, 1)
            self.down4 = nn.Conv2d(8, 8, 3, 2, 1)
            self.mix = nn.Conv2d(8, classes, 1)
            with torch.no_grad():
                for layer in (self.colour, self.down2, self.down4, self.mix):
                    layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator))
                    layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator))
                self.mix.weight.mul_(0.05)  # colour decides; the feature path only nudges

        def forward(self, x):
            f2 = torch.relu(self.down2(x))
            f4 = torch.relu(self.down4(f2))
            lateral = f2 + F.interpolate(f4, scale_factor=2.0, mode="nearest")  # fails unless H, W % 4 == 0
            scores = self.colour(F.avg_pool2d(x, stride)) + self.mix(F.avg_pool2d(lateral, stride // 2))
            return scores.argmax(dim=1) if argmax else scores

    return Seg().eval()


def export(module, path: Path, in_channels: int, input_name: str, output_name: str, dynamic: bool = True,
           size: tuple[int, int] = (64, 96), opset: int = 17) -> Path:
    """``torch.onnx.export`` as users call it: named tensors, dynamic batch and spatial axes."""
    torch = _torch()
    example = torch.randn(1, in_channels, *size)
    axes = {input_name: {0: "batch", 2: "height", 3: "width"}, output_name: {0: "batch"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), str(path), input_names=[input_name], output_names=[output_name],
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    return path


def torchvision_style(path: Path) -> Path:
    """ImageNet normalisation (0..1 scale), RGB, ``pixel_values`` -> ``logits`` at 1/4, dynamic axes."""
    return export(_module(3, NUM_CLASSES, False, 4), path, 3, "pixel_values", "logits")


def mmseg_style(path: Path) -> Path:
    """0..255-scale normalisation, BGR input, ``input`` -> ``output`` logits at 1/8."""
    return export(_module(3, NUM_CLASSES, False, 8), path, 3, "input", "output")


def argmax_style(path: Path) -> Path:
    """A graph that ends in its own ArgMax: int64 class ids ``[N, h, w]`` at 1/4."""
    return export(_module(3, NUM_CLASSES, True, 4), path, 3, "image", "labels")


def two_frame(path: Path) -> Path:
    """Two frames stacked on channels (6), oldest first, logits at 1/4."""
    return export(_module(6, NUM_CLASSES, False, 4), path, 6, "frames_in", "logits")


def classifier(path: Path) -> Path:
    """Not a segmentation model: ``[1, 1000]`` out."""
    torch = _torch()

    class Classifier(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1).repeat(1, 333)[:, :999]

    return export(Classifier().eval(), path, 3, "x", "y")


def two_inputs(path: Path) -> Path:
    """A graph with two inputs (an image and a second tensor)."""
    torch = _torch()
    class Two(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = _module(3, NUM_CLASSES, False, 4)

        def forward(self, image, bias):
            return self.inner(image) + bias

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Two().eval().requires_grad_(False), (torch.randn(1, 3, 64, 96), torch.zeros(1, NUM_CLASSES, 1, 1)), str(path),
                          input_names=["image", "bias"], output_names=["logits"], opset_version=17, dynamo=False)
    return path


def write_classes(path: Path, names: list[str]) -> Path:
    """One class name per line."""
    path.write_text("\n".join(names) + "\n")
    return path
