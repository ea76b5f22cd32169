"""``export_checkpoint``: a trained checkpoint to the artifact a robot runs, verified.

One function behind ``flame-export``: load the checkpoint, wrap the network
(bytes in, labels out), export it in the asked format, then run the artifact
through its engine against the PyTorch wrapper on rendered frames.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from flame.core.errors import ConfigError
from flame.core.card import ModelCard

if TYPE_CHECKING:
    from flame.export.parity import Parity

FORMATS = ("onnx", "tensorrt", "torch")
SUFFIXES = {"onnx": (".onnx",), "tensorrt": (".plan", ".engine"), "torch": (".pt2",)}
BACKENDS = {"onnx": "onnx", "tensorrt": "tensorrt", "torch": "torch-export"}


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
    by_suffix = next((f for f, sufs in SUFFIXES.items() if suffix in sufs), None)
    if fmt is None:
        if out is not None and by_suffix is None:
            known = ", ".join(s for sufs in SUFFIXES.values() for s in sufs)
            raise ConfigError(f"cannot tell the format of {out}: name it *{' or *'.join(known.split(', '))} "
                              "or pass {fmt}")
        return by_suffix or "onnx"
    if out is not None and by_suffix != fmt:
        raise ConfigError(f"output {out} does not fit {{fmt}} {fmt}: name it *{' or *'.join(SUFFIXES[fmt])}")
    return fmt


def default_output(checkpoint: str | os.PathLike, fmt: str, fp16: bool) -> Path:
    """Next to the checkpoint: ``best.pt`` -> ``best.onnx``, ``best.fp16.plan``, ``best.pt2``..."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + (".fp16" if fp16 else "") + SUFFIXES[fmt][0])


def export_checkpoint(checkpoint: str | os.PathLike, out: str | os.PathLike | None = None, fmt: str | None = None,
                      fp16: bool = False, size: tuple[int, int] | None = None, output: str = "labels",
                      verify: bool = True, timing_cache: str | os.PathLike | None = None, workspace_mb: int = 1024,
                      windows: int = 4, on_step: Callable[[str], None] | None = None) -> ExportResult:
    """Export a checkpoint and check the artifact against the PyTorch wrapper.

    Args:
        checkpoint: a FLAME checkpoint (with its model card).
        out: artifact path; default next to the checkpoint (:func:`default_output`).
        fmt: ``onnx``, ``tensorrt`` or ``torch``; default from ``out``'s suffix, else ``onnx``.
        fp16: FP16 artifact (ONNX: converted graph; TensorRT: FP16 plan; torch: runs
            under FP16 autocast on CUDA, FP32 elsewhere).
        size: input ``(H, W)``; default the card's.
        output: ``labels`` (uint8 class ids) or ``logits``.
        verify: run the parity check.
        timing_cache: TensorRT timing cache file (read and rewritten).
        workspace_mb: TensorRT builder workspace limit.
        windows: input windows of the parity check.
        on_step: called with a short description before each step.

    Returns:
        An :class:`ExportResult`.

    Raises:
        ConfigError: on bad options (format, size, output kind).
        CheckpointError: when the checkpoint is missing, corrupt or has no card.
        DependencyError: when the format's backend (TensorRT, a GPU, onnx...) is missing.
        EngineError: when export or the artifact's engine fails.
    """
    started = time.perf_counter()
    step = on_step or (lambda message: None)
    fmt = format_of(out, fmt)
    if output not in ("labels", "logits"):
        raise ConfigError(f"{{output}} must be labels or logits, found {output!r}")
    if fmt == "tensorrt":
        # Stop before loading anything (and before any TensorRT object) when TensorRT cannot run here.
        from flame.runtime.engines.tensorrt import require_tensorrt

        require_tensorrt()
    out = Path(out) if out is not None else default_output(checkpoint, fmt, fp16)

    import torch

    from flame.export.program import deploy_wrapper, export_program
    from flame.trainer.checkpoint import load_checkpoint
    from flame.trainer.models import check_input_size

    step(f"loading {checkpoint}")
    model, card = load_checkpoint(checkpoint)
    if size is not None:
        check_input_size(*size)
    card = card.replace(input_size=tuple(size or card.input_size), output=output)
    check_input_size(*card.input_size)
    wrapper = deploy_wrapper(model, card)
    precision = "fp16" if fp16 else "fp32"
    notes: list[str] = []
    extra: list[Path] = []

    if fmt == "torch":
        from flame.export.program import save_program

        card = card.replace(backend=BACKENDS[fmt], precision=precision)
        step("tracing the wrapper with torch.export")
        program = export_program(wrapper, card)
        step(f"writing {out}")
        save_program(program, card, out)
    else:
        from flame.export.onnx_export import save_onnx, set_card, to_onnx

        onnx_card = card.replace(backend="onnx", precision="fp32")
        step("exporting ONNX (opset 18, static shapes)")
        graph = to_onnx(wrapper, onnx_card)
        if fmt == "onnx":
            card = onnx_card
            if fp16:
                from flame.export.fp16 import convert_to_fp16

                step("converting to FP16 (onnxconverter-common; I/O and risky ops kept in FP32)")
                total = len(graph.graph.node)
                graph, kept = convert_to_fp16(graph)
                card = onnx_card.replace(precision="fp16")
                set_card(graph, card)
                notes.append(f"{len(kept)} of {total} nodes kept in FP32 "
                             "(input normalisation, casts, reductions, normalisation layers, logits upsampling, argmax)")
            step(f"writing {out}")
            save_onnx(graph, out)
        else:
            from flame.export.tensorrt_build import build_plan

            step(f"building the TensorRT plan ({precision}, workspace {workspace_mb} MiB)")
            build = build_plan(graph, out, onnx_card, fp16=fp16, workspace_mb=workspace_mb,
                               timing_cache=timing_cache)
            card = build.card
            extra.append(build.sidecar)
            notes.append(f"built in {build.seconds:.1f} s with TensorRT {card.tensorrt_version} on {card.gpu_name} "
                         f"({'strongly typed FP16 graph' if build.strongly_typed else 'builder precision flags'})")
            if build.timing_cache is not None:
                extra.append(build.timing_cache)
                notes.append(f"timing cache {build.timing_cache}: "
                             + (f"reused {build.timing_cache_reused} bytes" if build.timing_cache_reused else "new"))

    parity = None
    if verify:
        parity = _verify(out, card, wrapper, windows, step, torch)
    return ExportResult(out, card, out.stat().st_size, parity, tuple(extra), time.perf_counter() - started,
                        tuple(notes))


def _verify(path: Path, card: ModelCard, wrapper, windows: int, step: Callable[[str], None], torch) -> "Parity":
    from flame.export.parity import check_parity, parity_windows
    from flame.runtime.engines import load_engine

    step(f"checking parity on {windows} rendered windows")
    inputs = parity_windows(card, windows)

    @torch.no_grad()
    def reference(frames: np.ndarray) -> np.ndarray:
        return wrapper(torch.from_numpy(frames)).numpy()

    with load_engine(path) as engine:
        engine_text = f"{engine.backend} on {engine.device}"
        return check_parity(reference, engine.raw, inputs, card, engine.card.precision, engine_text)
