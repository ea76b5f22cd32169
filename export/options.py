"""What an export is asked for: :class:`ExportOptions` (with its INT8 and TensorRT parts), checked once.

The options are the same whatever the model comes from (a checkpoint, a torch module, a foreign ONNX):
:func:`flame.export.pipeline.export` takes them with a model source. Nothing here imports torch or onnx.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from flame.core.card import OUTPUTS
from flame.core.errors import ConfigError, param
from flame.export.calibration import DEFAULT_CALIBRATION_FRAMES
from flame.export.formats import EXPORT_FORMATS, FORMATS, ExportFormat

if TYPE_CHECKING:
    from flame.evaluation.datasets import SequenceDataset


@dataclass(frozen=True)
class Int8Options:
    """The INT8 part of an export (post-training static quantisation, :mod:`flame.export.int8`).

    Attributes:
        target: ``cpu`` or ``tensorrt`` flavour; None: the format's default (``tensorrt`` for plans).
        calibration: data set whose windows calibrate (default the synthetic video's train split).
        calibration_frames: calibration windows, drawn evenly across its sequences.
        validation: data set of the parity check and static mIoU change (default the synthetic video's val).
    """

    target: str | None = None
    calibration: "SequenceDataset | None" = None
    calibration_frames: int = DEFAULT_CALIBRATION_FRAMES
    validation: "SequenceDataset | None" = None


@dataclass(frozen=True)
class TensorRTOptions:
    """The TensorRT builder's part: a timing cache file (read and rewritten) and the workspace limit."""

    timing_cache: str | os.PathLike | None = None
    workspace_mb: int = 1024


@dataclass(frozen=True)
class ExportOptions:
    """One export's options.

    Attributes:
        out: the artifact; None: beside the model (the source's default name).
        fmt: a name of :data:`~flame.export.formats.EXPORT_FORMATS`; None: from ``out``'s suffix, else onnx.
        fp16: FP16 artifact.
        int8: INT8 artifact (None: FP32 or FP16).
        tensorrt: TensorRT builder options.
        size: input ``(H, W)``; None: the model's (its card's, or a foreign graph's fixed size).
        output: what the artifact returns, ``labels`` or ``logits``.
        verify: check the artifact against the model's reference.
        windows: input windows of the parity check.
        force: replace an existing ``out`` whatever it holds (:mod:`flame.export.overwrite`).
        on_step: called with a short description before each step.
    """

    out: str | os.PathLike | None = None
    fmt: str | None = None
    fp16: bool = False
    int8: Int8Options | None = None
    tensorrt: TensorRTOptions = field(default_factory=TensorRTOptions)
    size: tuple[int, int] | None = None
    output: str = "labels"
    verify: bool = True
    windows: int = 4
    force: bool = False
    on_step: Callable[[str], None] | None = None

    def step(self, message: str) -> None:
        """Report a step (nothing without ``on_step``)."""
        if self.on_step is not None:
            self.on_step(message)


def format_of(out: str | os.PathLike | None, fmt: str | None) -> str:
    """The export format: as given, else from the output's suffix, else ``onnx``.

    Raises:
        ConfigError: on an unknown format, or an output suffix that contradicts it.
    """
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    suffix = Path(out).suffix.lower() if out is not None else ""
    by_suffix = next((f.name for f in EXPORT_FORMATS.values() if suffix in f.suffixes), None)
    if fmt is None:
        if out is not None and by_suffix is None:
            known = [s for f in EXPORT_FORMATS.values() for s in f.suffixes]
            raise ConfigError(f"cannot tell the format of {out}: name it *{' or *'.join(known)} or pass {param('fmt')}")
        return by_suffix or "onnx"
    if out is not None and by_suffix != fmt:
        wanted = " or *".join(EXPORT_FORMATS[fmt].suffixes)
        raise ConfigError(f"output {out} does not fit {param('fmt')} {fmt}: name it *{wanted}")
    return fmt


def check_options(options: ExportOptions) -> tuple[ExportFormat, str | None]:
    """The format's exporter and the INT8 flavour, checked before anything is read.

    Also asks the format whether this machine can write it (TensorRT: a GPU), so that a missing backend
    stops the export before any loading.

    Raises:
        ConfigError: on an unknown format or output kind, FP16 with INT8, a bad INT8 target.
        DependencyError: when the format's backend is missing.
    """
    exporter = EXPORT_FORMATS[format_of(options.out, options.fmt)]
    if options.output not in OUTPUTS:
        raise ConfigError(f"{param('output')} must be {' or '.join(OUTPUTS)}, found {options.output!r}")
    int8 = options.int8 is not None
    if options.fp16 and int8:
        raise ConfigError(f"{param('fp16')} and {param('int8')} exclude each other: choose one precision")
    target = int8_target_of(exporter, int8, options.int8.target if options.int8 is not None else None)
    if exporter.require is not None:
        exporter.require()
    return exporter, target


def int8_target_of(exporter: ExportFormat, int8: bool, target: str | None) -> str | None:
    """The INT8 flavour: as given, else the format's default (``tensorrt`` for plans, ``cpu`` for ONNX).

    Raises:
        ConfigError: on an unknown target, INT8 for a format without an INT8 form, or a flavour the
            format cannot hold.
    """
    from flame.export.int8 import check_target

    if not int8:
        return None
    if not exporter.int8_targets:
        holders = " or ".join(f.name for f in EXPORT_FORMATS.values() if f.int8_targets)
        raise ConfigError(f"{param('fmt')} {exporter.name} has no INT8 form; INT8 is exported with "
                          f"{param('fmt')} {holders}")
    target = check_target(target or exporter.int8_targets[0])
    if target not in exporter.int8_targets:
        raise ConfigError(f"{param('fmt')} {exporter.name} holds {param('int8_target')} "
                          f"{' or '.join(exporter.int8_targets)} only, not {target!r}")
    return target
