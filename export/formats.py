"""The registry of export formats: one small exporter per artifact kind, in the way Polygraphy keeps one
loader per backend.

Each :class:`ExportFormat` names the engine kind it writes (its suffixes come
from :data:`flame.runtime.engines.ENGINE_KINDS`, never repeated here), what it
needs before anything is loaded, and how it writes a deploy wrapper to disk.
Importing this module imports neither torch nor onnx: each writer imports
what it uses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from flame.core.card import ModelCard
from flame.runtime.engines import ENGINE_KINDS


@dataclass(frozen=True)
class Int8Job:
    """The INT8 part of a job: the flavour and the calibration windows (drawn before the export).

    Attributes:
        target: ``cpu`` or ``tensorrt`` (:data:`flame.export.int8.TARGETS`).
        windows: calibration inputs, uint8 ``[T, H, W, 3]`` at the export size.
        calibration: the name of the data set they came from.
    """

    target: str
    windows: Sequence[np.ndarray]
    calibration: str


@dataclass(frozen=True)
class ExportJob:
    """What a writer gets: the wrapper to export and the options that concern it.

    Attributes:
        wrapper: the deploy wrapper (eval mode); None for a graph write (:attr:`ExportFormat.write_graph`).
        card: the checkpoint's card at the export's input size and output kind.
        out: the artifact path.
        fp16: FP16 artifact.
        timing_cache: TensorRT timing cache file, or None.
        workspace_mb: TensorRT builder workspace limit.
        step: called with a short description before each step.
        int8: INT8 artifact (None: FP32 or FP16).
    """

    wrapper: Any
    card: ModelCard
    out: Path
    fp16: bool
    timing_cache: str | os.PathLike | None
    workspace_mb: int
    step: Callable[[str], None]
    int8: Int8Job | None = None


@dataclass
class Written:
    """What a writer wrote: the artifact's card, files beside it, one-line notes for the user."""

    card: ModelCard
    extra_files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _onnx_graph(job: ExportJob) -> tuple[Any, ModelCard]:
    """The FP32 ONNX graph of the wrapper and its card (the ONNX and TensorRT exporters start here)."""
    from flame.export.onnx_export import to_onnx

    card = job.card.replace(backend="onnx", precision="fp32")
    job.step("exporting ONNX (opset 18, static shapes)")
    return to_onnx(job.wrapper, card), card


def _quantized(graph: Any, job: ExportJob) -> tuple[Any, Written]:
    """The job's INT8 Q/DQ graph of an FP32 graph and what was written so far, or the graph unchanged."""
    if job.int8 is None:
        return graph, Written(job.card)
    from flame.export.int8 import int8_graph

    job.step(f"calibrating and quantising to INT8 ({job.int8.target} target, {len(job.int8.windows)} windows)")
    graph, card, notes = int8_graph(graph, job.card, job.int8.windows, job.int8.calibration, job.int8.target)
    return graph, Written(card, notes=notes)


def save_graph(graph: Any, job: ExportJob) -> Written:
    """An FP32 ONNX graph (card in its metadata) written as ONNX, FP32, converted to FP16 (I/O and risky
    ops kept in FP32) or quantised to INT8 (QDQ). A foreign model's wrapped graph starts here too."""
    from flame.export.onnx_export import save_onnx, set_card

    graph, written = _quantized(graph, job)
    if job.fp16:
        from flame.export.fp16 import convert_to_fp16

        job.step("converting to FP16 (onnxconverter-common; I/O and risky ops kept in FP32)")
        total = len(graph.graph.node)
        graph, kept = convert_to_fp16(graph)
        written.card = job.card.replace(precision="fp16")
        set_card(graph, written.card)
        written.notes.append(f"{len(kept)} of {total} nodes kept in FP32 (input normalisation, casts, reductions, "
                             "normalisation layers, logits upsampling, argmax)")
    job.step(f"writing {job.out}")
    save_onnx(graph, job.out)
    return written


def build_graph(graph: Any, job: ExportJob) -> Written:
    """A TensorRT plan built from an FP32 ONNX graph, with its card sidecar (and the timing cache)."""
    from flame.export.tensorrt_build import build_plan

    graph, quantized = _quantized(graph, job)
    precision = "fp16" if job.fp16 else "int8" if job.int8 else "fp32"
    job.step(f"building the TensorRT plan ({precision}, workspace {job.workspace_mb} MiB)")
    build = build_plan(graph, job.out, quantized.card, fp16=job.fp16, int8=job.int8 is not None,
                       workspace_mb=job.workspace_mb, timing_cache=job.timing_cache)
    written = Written(build.card, [build.sidecar], quantized.notes)
    typing = f"strongly typed {precision.upper()} graph" if build.strongly_typed else "builder precision flags"
    written.notes.append(f"built in {build.seconds:.1f} s with TensorRT {build.card.tensorrt_version} on "
                         f"{build.card.gpu_name} ({typing})")
    if build.timing_cache is not None:
        written.extra_files.append(build.timing_cache)
        written.notes.append(f"timing cache {build.timing_cache}: "
                             + (f"reused {build.timing_cache_reused} bytes" if build.timing_cache_reused else "new"))
    return written


def write_onnx(job: ExportJob) -> Written:
    """ONNX of the deploy wrapper, FP32 or FP16."""
    graph, card = _onnx_graph(job)
    return save_graph(graph, replace(job, card=card))


def write_plan(job: ExportJob) -> Written:
    """A TensorRT plan of the deploy wrapper."""
    graph, card = _onnx_graph(job)
    return build_graph(graph, replace(job, card=card))


def write_program(job: ExportJob) -> Written:
    """A ``torch.export`` program with the card inside (FP16 runs under autocast on CUDA)."""
    from flame.export.program import export_program, save_program

    card = job.card.replace(backend=EXPORT_FORMATS["torch"].backend, precision="fp16" if job.fp16 else "fp32")
    job.step("tracing the wrapper with torch.export")
    program = export_program(job.wrapper, card)
    job.step(f"writing {job.out}")
    save_program(program, card, job.out)
    return Written(card)


def _require_tensorrt() -> None:
    # Stop before loading anything (and before any TensorRT object) when TensorRT cannot run here.
    from flame.runtime.engines.tensorrt import require_tensorrt

    require_tensorrt()


@dataclass(frozen=True)
class ExportFormat:
    """One exporter of the registry.

    Attributes:
        name: the registry key (``flame-export --format``), also the engine kind it writes.
        backend: the card's ``backend`` of the artifact.
        write: writes a job's artifact.
        require: checks, before the checkpoint is loaded, that this machine can write the format.
        write_graph: writes an ONNX graph that carries its card (a wrapped foreign model), for the
            formats made from ONNX; None for those that need the torch module.
        int8_targets: the INT8 flavours it can hold (:data:`flame.export.int8.TARGETS`), the
            first the default; empty when it has no INT8 form.
    """

    name: str
    backend: str
    write: Callable[[ExportJob], Written]
    require: Callable[[], None] | None = None
    write_graph: Callable[[Any, ExportJob], Written] | None = None
    int8_targets: tuple[str, ...] = ()

    @property
    def suffixes(self) -> tuple[str, ...]:
        """The suffixes of the engine kind it writes, the first the default one."""
        return ENGINE_KINDS[self.name].suffixes


EXPORT_FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("onnx", "onnx", write_onnx, write_graph=save_graph, int8_targets=("cpu", "tensorrt")),
    # TensorRT's explicit quantisation takes symmetric Q/DQ only.
    ExportFormat("tensorrt", "tensorrt", write_plan, _require_tensorrt, build_graph, int8_targets=("tensorrt",)),
    ExportFormat("torch", "torch-export", write_program),
)}
FORMATS = tuple(EXPORT_FORMATS)
