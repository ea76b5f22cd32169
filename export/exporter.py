"""A ``flame-train`` checkpoint as a model source, and ``export_checkpoint``, the call behind ``flame-export``.

The checkpoint's network is wrapped (bytes in, labels out) and goes the one export path
(:func:`flame.export.pipeline.export`): the asked format's writer, then the artifact against the PyTorch
wrapper on rendered frames.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from flame.core.card import precision_of, precision_tag
from flame.core.deps import require_extra
from flame.core.errors import ConfigError, param
from flame.export.calibration import DEFAULT_CALIBRATION_FRAMES
from flame.export.formats import EXPORT_FORMATS, FORMATS, ExportFormat
from flame.export.options import ExportOptions, Int8Options, TensorRTOptions, format_of
from flame.export.pipeline import ExportResult, Prepared, export, torch_prepared

if TYPE_CHECKING:
    from flame.evaluation.datasets import SequenceDataset

__all__ = ["CheckpointSource", "ExportResult", "FORMATS", "default_output", "export_checkpoint", "format_of"]


def default_output(checkpoint: str | os.PathLike, fmt: str, fp16: bool, int8: bool = False) -> Path:
    """Next to the checkpoint: ``best.pt`` -> ``best.onnx``, ``best.fp16.plan``, ``best.int8.onnx``, ``best.pt2``..."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + precision_tag(precision_of(fp16, int8))
                                + EXPORT_FORMATS[fmt].suffixes[0])


class CheckpointSource:
    """A ``flame-train`` checkpoint (with its model card) as a model source.

    Raises (from :func:`flame.export.pipeline.export`):
        MissingExtraError: when torch or onnx (the [train] extra) is not installed, before anything is read.
        CheckpointError: when the checkpoint is missing, corrupt or has no card.
        ConfigError: on a size that is not a multiple of 32.
    """

    def __init__(self, checkpoint: str | os.PathLike) -> None:
        self.checkpoint = Path(checkpoint)

    def check(self, exporter: ExportFormat, options: ExportOptions) -> None:
        # Without the [train] extra (a robot's base install): one line naming it, before anything is read.
        require_extra("torch", "onnx")

    def default_output(self, exporter: ExportFormat, options: ExportOptions) -> Path:
        return default_output(self.checkpoint, exporter.name, options.fp16, options.int8 is not None)

    @contextlib.contextmanager
    def prepare(self, out: Path, options: ExportOptions) -> Iterator[Prepared]:
        from flame.trainer.blocks import check_input_size
        from flame.trainer.checkpoint import load_checkpoint

        options.step(f"loading {self.checkpoint}")
        model, card = load_checkpoint(self.checkpoint)
        if options.size is not None:
            check_input_size(*options.size)
        card = card.replace(input_size=tuple(options.size or card.input_size), output=options.output)
        check_input_size(*card.input_size)
        with torch_prepared(model, card, options.verify) as prepared:
            yield prepared


def export_checkpoint(checkpoint: str | os.PathLike, out: str | os.PathLike | None = None, fmt: str | None = None,
                      fp16: bool = False, size: tuple[int, int] | None = None, output: str = "labels",
                      verify: bool = True, timing_cache: str | os.PathLike | None = None, workspace_mb: int = 1024,
                      windows: int = 4, on_step: Callable[[str], None] | None = None, int8: bool = False,
                      int8_target: str | None = None, calibration: "SequenceDataset | None" = None,
                      calibration_frames: int = DEFAULT_CALIBRATION_FRAMES, validation: "SequenceDataset | None" = None,
                      force: bool = False) -> ExportResult:
    """Export a checkpoint and check the artifact against the PyTorch wrapper: :func:`~flame.export.pipeline.export`
    with a :class:`CheckpointSource` and the options as keywords (see :class:`~flame.export.options.ExportOptions`).

    Returns:
        An :class:`~flame.export.pipeline.ExportResult`.
    """
    if int8_target is not None and not int8:
        raise ConfigError(f"{param('int8_target')} {int8_target!r} applies to {param('int8')} exports only")
    int8_options = Int8Options(int8_target, calibration, calibration_frames, validation) if int8 else None
    options = ExportOptions(out, fmt, fp16, int8_options, TensorRTOptions(timing_cache, workspace_mb), size, output,
                            verify, windows, force, on_step)
    return export(CheckpointSource(checkpoint), options)
