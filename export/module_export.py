"""``export_module``: any ``torch.nn.Module`` segmentation network, with a card the caller gives, as a FLAME artifact.

The module maps normalised float ``[1, 3T, H, W]`` (RGB, the card's mean and
std on the 0..1 scale, oldest frame first) to logits ``[1, C, h, w]``, where
``h, w`` may be smaller than the input (1/4, 1/8...): such logits are
upsampled bilinearly (``align_corners=False``) inside the artifact before the
argmax. From there it is the one export path (:func:`flame.export.pipeline.export`,
with a :class:`ModuleSource`): deploy wrapper, format writer, parity against the
module run by PyTorch.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn

from flame.core.card import ModelCard
from flame.core.errors import ConfigError, first_line, param
from flame.export.options import ExportOptions, TensorRTOptions
from flame.export.pipeline import ExportResult, Prepared, export, torch_prepared
from flame.trainer.deploy import module_device


class UpsampledLogits(nn.Module):
    """A module's logits, bilinearly upsampled to the input size when they come out smaller."""

    def __init__(self, module: nn.Module, size: tuple[int, int]) -> None:
        super().__init__()
        self.module = module
        self.size = (int(size[0]), int(size[1]))

    def forward(self, x: Tensor) -> Tensor:
        logits = self.module(x)
        if tuple(logits.shape[-2:]) != self.size:
            logits = nn.functional.interpolate(logits, size=self.size, mode="bilinear", align_corners=False)
        return logits


def probe_module(module: nn.Module, card: ModelCard) -> tuple[int, ...]:
    """Run the module once on zeros of the card's input; returns its output shape.

    Raises:
        ConfigError: when it fails at that size, or its output is not ``[1, C, h, w]``
            logits with the card's class count.
    """
    height, width = card.input_size
    x = torch.zeros((1, 3 * card.window, height, width), device=module_device(module))
    try:
        with torch.no_grad():
            shape = tuple(module(x).shape)
    except Exception as exc:  # whatever the user's module raises at this size
        raise ConfigError(f"the module fails on input [1, {3 * card.window}, {height}, {width}] "
                          f"({first_line(exc, 160, typed=True)}); check the card's {param('input_size')} and {param('window')}"
                          ) from exc
    if len(shape) != 4 or shape[0] != 1:
        raise ConfigError(f"the module returns shape {list(shape)}; expected logits [1, C, h, w]")
    if shape[1] != card.num_classes:
        raise ConfigError(f"the card names {card.num_classes} classes but the module returns {shape[1]} channels "
                          f"({param('num_classes')})")
    if shape[2] > height or shape[3] > width:
        raise ConfigError(f"the module returns logits of {shape[2]}x{shape[3]}, larger than its input "
                          f"{height}x{width}")
    return shape


class ModuleSource:
    """A user's ``torch.nn.Module`` with the card it is exported with, as a model source.

    Raises:
        ConfigError: when it is not a module or the card not a card; (in ``prepare``) when the module does
            not fit the card.
    """

    def __init__(self, module: nn.Module, card: ModelCard) -> None:
        if not isinstance(module, nn.Module):
            raise ConfigError(f"expected a torch.nn.Module, found {type(module).__name__}")
        if not isinstance(card, ModelCard):
            raise ConfigError(f"expected a flame.core.card.ModelCard, found {type(card).__name__}")
        self.module, self.card = module.eval(), card

    def check(self, exporter: Any, options: ExportOptions) -> None:
        if options.out is None:
            raise ConfigError(f"a module has no file to name its artifact after: give {param('out')}")

    def default_output(self, exporter: Any, options: ExportOptions) -> Path:
        raise ConfigError(f"give {param('out')}")  # check() refuses a missing out first

    @contextlib.contextmanager
    def prepare(self, out: Path, options: ExportOptions) -> Iterator[Prepared]:
        shape = probe_module(self.module, self.card)
        network = (UpsampledLogits(self.module, self.card.input_size)
                   if tuple(shape[2:]) != tuple(self.card.input_size) else self.module)
        with torch_prepared(network, self.card, options.verify) as prepared:
            yield prepared


def export_module(module: nn.Module, card: ModelCard, out: str | os.PathLike, fmt: str | None = None,
                  fp16: bool = False, verify: bool = True, timing_cache: str | os.PathLike | None = None,
                  workspace_mb: int = 1024, windows: int = 4,
                  on_step: Callable[[str], None] | None = None) -> ExportResult:
    """Export a user's segmentation module as an ONNX (FP32/FP16), TensorRT or ``.pt2`` artifact, verified.

    Args:
        module: maps normalised float ``[1, 3T, H, W]`` (RGB with the card's ``mean``/``std``, oldest
            frame first) to logits ``[1, C, h, w]`` with ``h <= H``, ``w <= W``.
        card: what the artifact carries: ``num_classes``, ``class_names``, ``palette``, ``input_size``,
            ``window``, ``mean``/``std``, ``output`` (labels or logits)...
        out: the artifact; its suffix picks the format unless ``fmt`` is given.
        fmt, fp16, verify, timing_cache, workspace_mb, windows, on_step: as
            :class:`~flame.export.options.ExportOptions` has them.

    Returns:
        An :class:`~flame.export.pipeline.ExportResult`; ``parity`` compares the artifact with the
        module run by PyTorch.

    Raises:
        ConfigError: when the module does not fit the card (class count, size) or options are bad.
        DependencyError, EngineError: as for checkpoint exports.
    """
    source = ModuleSource(module, card)
    options = ExportOptions(out, fmt, fp16, None, TensorRTOptions(timing_cache, workspace_mb), None, card.output,
                            verify, windows, False, on_step)
    return export(source, options)
