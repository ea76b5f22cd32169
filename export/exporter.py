"""``export_checkpoint``: a trained checkpoint to the artifact a robot runs, verified.

One function behind ``flame-export``: load the checkpoint, wrap the network
(bytes in, labels out), hand it to the asked format's exporter
(:mod:`flame.export.formats`), then run the artifact through its engine
against the PyTorch wrapper on rendered frames.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from flame.core.card import OUTPUTS, ModelCard, precision_of, precision_tag
from flame.core.deps import require_extra
from flame.core.errors import ConfigError, param
from flame.export.calibration import DEFAULT_CALIBRATION_FRAMES
from flame.export.formats import EXPORT_FORMATS, FORMATS, ExportFormat, ExportJob, Int8Job
from flame.export.overwrite import check_overwrite

if TYPE_CHECKING:
    from flame.evaluation.datasets import SequenceDataset
    from flame.export.parity import Parity

__all__ = ["ExportResult", "FORMATS", "default_output", "export_checkpoint", "export_model", "format_of"]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    Attributes:
        path: the artifact.
        card: its card.
        size_bytes: the artifact's size on disk.
        parity: the parity check (None with ``verify=False``).
        extra_files: files written beside it (the plan sidecar, the timing cache).
        seconds: wall time of the whole export.
        notes: one-line remarks for the user (FP32 nodes kept, timing cache reuse...).
    """

    path: Path
    card: ModelCard
    size_bytes: int
    parity: "Parity | None"
    extra_files: tuple[Path, ...] = ()
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)


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


def default_output(checkpoint: str | os.PathLike, fmt: str, fp16: bool, int8: bool = False) -> Path:
    """Next to the checkpoint: ``best.pt`` -> ``best.onnx``, ``best.fp16.plan``, ``best.int8.onnx``, ``best.pt2``..."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + precision_tag(precision_of(fp16, int8))
                                + EXPORT_FORMATS[fmt].suffixes[0])


def check_options(out: str | os.PathLike | None, fmt: str | None, output: str, fp16: bool, int8: bool,
                  int8_target: str | None) -> tuple[ExportFormat, str | None]:
    """The format's exporter and the INT8 flavour for an export's options, checked before anything is read.

    Also asks the format whether this machine can write it (TensorRT: a GPU), so that a
    missing backend stops the export before any loading.

    Raises:
        ConfigError: on an unknown format or output kind, FP16 with INT8, a bad INT8 target.
        DependencyError: when the format's backend is missing.
    """
    exporter = EXPORT_FORMATS[format_of(out, fmt)]
    if output not in OUTPUTS:
        raise ConfigError(f"{param('output')} must be {' or '.join(OUTPUTS)}, found {output!r}")
    if fp16 and int8:
        raise ConfigError(f"{param('fp16')} and {param('int8')} exclude each other: choose one precision")
    target = int8_target_of(exporter, int8, int8_target)
    if exporter.require is not None:
        exporter.require()
    return exporter, target


def int8_target_of(exporter: ExportFormat, int8: bool, target: str | None) -> str | None:
    """The INT8 flavour: as given, else the format's default (``tensorrt`` for plans, ``cpu`` for ONNX).

    Raises:
        ConfigError: on an unknown target, a target without INT8, INT8 for a format
            without an INT8 form, or a flavour the format cannot hold.
    """
    from flame.export.int8 import check_target

    if not int8:
        if target is not None:
            raise ConfigError(f"{param('int8_target')} {target!r} applies to {param('int8')} exports only")
        return None
    if not exporter.int8_targets:
        holders = " or ".join(f.name for f in EXPORT_FORMATS.values() if f.int8_targets)
        raise ConfigError(f"{param('fmt')} {exporter.name} has no INT8 form; INT8 is exported with {param('fmt')} {holders}")
    target = check_target(target or exporter.int8_targets[0])
    if target not in exporter.int8_targets:
        raise ConfigError(f"{param('fmt')} {exporter.name} holds {param('int8_target')} {' or '.join(exporter.int8_targets)} "
                          f"only, not {target!r}")
    return target


def export_checkpoint(checkpoint: str | os.PathLike, out: str | os.PathLike | None = None, fmt: str | None = None,
                      fp16: bool = False, size: tuple[int, int] | None = None, output: str = "labels",
                      verify: bool = True, timing_cache: str | os.PathLike | None = None, workspace_mb: int = 1024,
                      windows: int = 4, on_step: Callable[[str], None] | None = None, int8: bool = False,
                      int8_target: str | None = None, calibration: "SequenceDataset | None" = None,
                      calibration_frames: int = DEFAULT_CALIBRATION_FRAMES, validation: "SequenceDataset | None" = None,
                      force: bool = False) -> ExportResult:
    """Export a checkpoint with its format's exporter and check the artifact against the PyTorch wrapper.

    Args:
        checkpoint: a FLAME checkpoint (with its model card).
        out: artifact path; default next to the checkpoint (:func:`default_output`).
        fmt: a name of :data:`~flame.export.formats.EXPORT_FORMATS` (``onnx``, ``tensorrt`` or ``torch``);
            default from ``out``'s suffix, else ``onnx``.
        fp16: FP16 artifact (ONNX: converted graph; TensorRT: FP16 plan; torch: runs
            under FP16 autocast on CUDA, FP32 elsewhere).
        size: input ``(H, W)``; default the card's.
        output: ``labels`` (uint8 class ids) or ``logits``.
        verify: run the parity check.
        timing_cache: TensorRT timing cache file (read and rewritten).
        workspace_mb: TensorRT builder workspace limit.
        windows: input windows of the parity check.
        on_step: called with a short description before each step.
        int8: INT8 artifact (post-training static quantisation in QDQ form, :mod:`flame.export.int8`).
        int8_target: ``cpu`` or ``tensorrt`` flavour; default the format's first (``tensorrt`` for plans).
        calibration: data set whose windows calibrate INT8 (default the synthetic video's train split).
        calibration_frames: calibration windows, drawn evenly across its sequences.
        validation: data set of the INT8 parity check and static mIoU change (default the synthetic video's val).
        force: replace an existing ``out`` whatever it holds; without it, a file there is
            replaced only when it is an export of the same model with the same options
            (:mod:`flame.export.overwrite`).

    Returns:
        An :class:`ExportResult`.

    Raises:
        ConfigError: on bad options (format, size, output kind, fp16 with int8, INT8 target), or an existing
            ``out`` made with other options (without ``force``).
        DataError: when the calibration set has fewer windows than ``calibration_frames``.
        CheckpointError: when the checkpoint is missing, corrupt or has no card.
        MissingExtraError: when torch or onnx (the [train] extra) is not installed.
        DependencyError: when the format's backend (TensorRT, a GPU, onnx...) is missing.
        EngineError: when export or the artifact's engine fails.
    """
    started = time.perf_counter()
    step = on_step or (lambda message: None)
    # Without the [train] extra (a robot's base install): one line naming it, before anything is read.
    require_extra("torch", "onnx")
    exporter, int8_target = check_options(out, fmt, output, fp16, int8, int8_target)
    out = Path(out) if out is not None else default_output(checkpoint, exporter.name, fp16, int8)

    from flame.trainer.blocks import check_input_size
    from flame.trainer.checkpoint import load_checkpoint

    step(f"loading {checkpoint}")
    model, card = load_checkpoint(checkpoint)
    if size is not None:
        check_input_size(*size)
    card = card.replace(input_size=tuple(size or card.input_size), output=output)
    check_input_size(*card.input_size)
    int8_job = int8_job_of(card, int8_target, calibration, calibration_frames, step)
    return export_model(model, card, out, exporter.name, fp16, verify, timing_cache, workspace_mb, windows, step,
                        started, force, int8_job, validation)


def int8_job_of(card: ModelCard, target: str | None, calibration: "SequenceDataset | None", frames: int,
                step: Callable[[str], None]) -> Int8Job | None:
    """The INT8 part of an export job (None without a target): calibration windows drawn at the card's size.

    Drawn before the (slow) export, so that a calibration set too small fails at once.

    Raises:
        ConfigError, DataError: see :func:`flame.export.calibration.calibration_windows`.
    """
    if target is None:
        return None
    from flame.export.calibration import calibration_windows, default_calibration

    calibration = calibration if calibration is not None else default_calibration("train")
    step(f"drawing {frames} calibration windows from {calibration.name}")
    size = (int(card.input_size[0]), int(card.input_size[1]))
    return Int8Job(target, calibration_windows(calibration, card.window, size, frames),
                   calibration.name)


def export_model(model: Any, card: ModelCard, out: str | os.PathLike, fmt: str | None = None, fp16: bool = False,
                 verify: bool = True, timing_cache: str | os.PathLike | None = None, workspace_mb: int = 1024,
                 windows: int = 4, on_step: Callable[[str], None] | None = None,
                 started: float | None = None, force: bool = False, int8: Int8Job | None = None,
                 validation: "SequenceDataset | None" = None) -> ExportResult:
    """Export a network with its card: wrap it (bytes in, labels out), write the format, check parity.

    Args:
        model: a ``torch.nn.Module`` mapping normalised float ``[1, 3T, H, W]`` (RGB, the card's
            mean/std) to logits ``[1, C, H, W]`` at the card's input size.
        card: its card (window, input size, classes, output kind).
        out, fmt, fp16, verify, timing_cache, workspace_mb, windows, on_step, force: as for
            :func:`export_checkpoint`.
        started: ``perf_counter`` time the whole export began (for its duration), default now.
        int8: INT8 artifact (:func:`int8_job_of`), checked on ``validation``'s frames (default the
            synthetic video's val split).

    Raises:
        ConfigError, DependencyError, EngineError: as :func:`export_checkpoint`.
    """
    started = time.perf_counter() if started is None else started
    step = on_step or (lambda message: None)
    exporter, _ = check_options(out, fmt, card.output, fp16, int8 is not None,
                                int8.target if int8 is not None else None)
    out = Path(out)
    replaced = check_overwrite(out, exporter.name, card.replace(precision=precision_of(fp16, int8 is not None)),
                               force, int8)

    from flame.trainer.deploy import deploy_wrapper
    from flame.trainer.reference import ReferenceEngine

    wrapper = deploy_wrapper(model, card)
    written = exporter.write(ExportJob(wrapper, card, out, fp16, timing_cache, workspace_mb, step, int8))
    if replaced:
        written.notes.append(replaced)
    parity = None
    if verify:
        # The PyTorch reference runs the same network through its own deploy wrapper, in FP32, on the
        # model's device; closed afterwards (it may hold GPU memory).
        with ReferenceEngine(model, card) as reference:
            if int8 is not None:
                from flame.export.int8 import verify_int8

                step("checking parity and the static mIoU change on the validation frames")
                parity = verify_int8(out, written.card, reference.raw, reference, validation, max(windows, 8))
            else:
                parity = verify_artifact(out, written.card, reference.raw, windows, step)
    return ExportResult(out, written.card, out.stat().st_size, parity, tuple(written.extra_files),
                        time.perf_counter() - started, tuple(written.notes))


def verify_artifact(path: Path, card: ModelCard, reference: Callable[[np.ndarray], np.ndarray], windows: int,
                    step: Callable[[str], None], reference_text: str = "the PyTorch wrapper") -> "Parity":
    """The written artifact, run through its engine, against ``reference`` on rendered windows (raw outputs)."""
    from flame.export.parity import check_parity, parity_windows
    from flame.runtime.engines import load_engine

    step(f"checking parity on {windows} rendered windows against {reference_text}")
    inputs = parity_windows(card, windows)
    with load_engine(path) as engine:
        engine_text = f"{engine.backend} on {engine.device}"
        return check_parity(reference, engine.raw, inputs, card, engine.card.precision, engine_text, reference_text)
