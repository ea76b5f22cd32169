"""One export path: a model source and :class:`~flame.export.options.ExportOptions` in, a verified artifact out.

Whatever the model comes from, an export is the same steps, written once here: check the options (the
format's backend included) before anything is read, let the source prepare the graph, its card and its
parity reference, draw the INT8 calibration windows, refuse to replace an export made with other options,
write the format, and check the artifact against the reference. A source is one of
:class:`flame.export.exporter.CheckpointSource` (a ``flame-train`` checkpoint),
:class:`flame.export.module_export.ModuleSource` (any torch module with a card) and
:class:`flame.export.foreign.ForeignSource` (a user's segmentation ONNX).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Protocol

import numpy as np

from flame.core.card import ModelCard, precision_of
from flame.core.errors import ConfigError, param
from flame.export.formats import ExportFormat, ExportJob, Int8Job
from flame.export.options import ExportOptions, check_options
from flame.export.overwrite import check_overwrite

if TYPE_CHECKING:
    from flame.export.parity import Parity

#: What the parity check compares against, unless a source says otherwise.
TORCH_REFERENCE = "the PyTorch wrapper"


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


@dataclass
class Prepared:
    """A model made ready for writing: what the format writer takes, its card and its parity reference.

    Attributes:
        card: the artifact's card (size and output kind as asked).
        wrapper: the deploy wrapper for the torch writers, or None when ``graph`` is given.
        graph: a finished ONNX graph carrying its card (a wrapped foreign model), or None.
        reference: the reference returning what the artifact returns (labels or logits) for a window.
        labels: the reference returning label maps (the INT8 check's static mIoU).
        reference_text: how the parity line names the reference.
        notes: remarks for the user, printed after the export.
    """

    card: ModelCard
    wrapper: Any = None
    graph: Any = None
    reference: Callable[[np.ndarray], np.ndarray] | None = None
    labels: Callable[[np.ndarray], np.ndarray] | None = None
    reference_text: str = TORCH_REFERENCE
    notes: list[str] = field(default_factory=list)


class ModelSource(Protocol):
    """Where a model comes from; one implementation per kind (checkpoint, torch module, foreign ONNX)."""

    def check(self, exporter: ExportFormat, options: ExportOptions) -> None:
        """Refuse what this source cannot do, before anything is read (raises ConfigError or DependencyError)."""

    def default_output(self, exporter: ExportFormat, options: ExportOptions) -> Path:
        """The artifact's path when ``options.out`` is None."""

    def prepare(self, out: Path, options: ExportOptions) -> ContextManager[Prepared]:
        """The graph or wrapper, card and reference; the reference is released when the context ends."""


def export(source: ModelSource, options: ExportOptions) -> ExportResult:
    """Check, write and verify an artifact of ``source`` as ``options`` ask.

    Raises:
        ConfigError: on bad options, options the source cannot honour, or an existing ``out`` made with other
            options (without ``force``).
        DataError: when the calibration set has fewer windows than asked, or the model is no segmentation model.
        DependencyError: when the format's backend or the source's libraries are missing.
        CheckpointError, EngineError: when the model cannot be read, exported or run.
    """
    started = time.perf_counter()
    exporter, int8_target = check_options(options)
    source.check(exporter, options)
    out = Path(options.out) if options.out is not None else source.default_output(exporter, options)
    with source.prepare(out, options) as prepared:
        if prepared.graph is not None and exporter.write_graph is None:
            raise ConfigError(f"a {exporter.name} artifact is made from a torch module, not an ONNX graph "
                              f"({param('fmt')})")
        int8 = int8_job_of(prepared.card, int8_target, options)
        precision = precision_of(options.fp16, int8 is not None)
        replaced = check_overwrite(out, exporter.name, prepared.card.replace(precision=precision), options.force, int8)
        job = ExportJob(prepared.wrapper, prepared.card, out, options.fp16, options.tensorrt.timing_cache,
                        options.tensorrt.workspace_mb, options.step, int8)
        written = exporter.write(job) if prepared.graph is None else exporter.write_graph(prepared.graph, job)
        if replaced:
            written.notes.append(replaced)
        parity = _verify(out, written.card, prepared, options, int8) if options.verify else None
    return ExportResult(out, written.card, out.stat().st_size, parity, tuple(written.extra_files),
                        time.perf_counter() - started, tuple(prepared.notes) + tuple(written.notes))


def int8_job_of(card: ModelCard, target: str | None, options: ExportOptions) -> Int8Job | None:
    """The INT8 part of the job (None without INT8): calibration windows drawn at the card's size.

    Drawn before the (slow) export, so that a calibration set too small fails at once.

    Raises:
        ConfigError, DataError: see :func:`flame.export.calibration.calibration_windows`.
    """
    if target is None or options.int8 is None:
        return None
    from flame.export.calibration import calibration_windows, default_calibration

    calibration = options.int8.calibration if options.int8.calibration is not None else default_calibration("train")
    frames = options.int8.calibration_frames
    options.step(f"drawing {frames} calibration windows from {calibration.name}")
    size = (int(card.input_size[0]), int(card.input_size[1]))
    return Int8Job(target, calibration_windows(calibration, card.window, size, frames), calibration.name)


def _verify(out: Path, card: ModelCard, prepared: Prepared, options: ExportOptions,
            int8: Int8Job | None) -> "Parity":
    assert prepared.reference is not None, "a source prepares the reference it is checked against"
    if int8 is not None and options.int8 is not None:
        from flame.export.int8 import verify_int8

        options.step(f"checking parity and the static mIoU change on the validation frames against "
                     f"{prepared.reference_text}")
        return verify_int8(out, card, prepared.reference, prepared.labels, options.int8.validation,
                           max(options.windows, 8), prepared.reference_text)
    return verify_artifact(out, card, prepared.reference, options.windows, options.step, prepared.reference_text)


def verify_artifact(path: Path, card: ModelCard, reference: Callable[[np.ndarray], np.ndarray], windows: int,
                    step: Callable[[str], None], reference_text: str = TORCH_REFERENCE) -> "Parity":
    """The written artifact, run through its engine, against ``reference`` on rendered windows (raw outputs)."""
    from flame.export.parity import check_parity, parity_windows
    from flame.runtime.engines import load_engine

    step(f"checking parity on {windows} rendered windows against {reference_text}")
    inputs = parity_windows(card, windows)
    with load_engine(path) as engine:
        engine_text = f"{engine.backend} on {engine.device}"
        return check_parity(reference, engine.raw, inputs, card, engine.card.precision, engine_text, reference_text)


@contextlib.contextmanager
def torch_prepared(model: Any, card: ModelCard, with_reference: bool) -> Any:
    """:class:`Prepared` for a torch network (a checkpoint's or a user's module): its deploy wrapper, and
    the PyTorch reference running the same network, in FP32, on its device (closed at the end: it may
    hold GPU memory)."""
    from flame.trainer.deploy import deploy_wrapper
    from flame.trainer.reference import ReferenceEngine

    wrapper = deploy_wrapper(model, card)
    if not with_reference:
        yield Prepared(card, wrapper=wrapper)
        return
    with ReferenceEngine(model, card) as reference:
        yield Prepared(card, wrapper=wrapper, reference=reference.raw, labels=reference)
