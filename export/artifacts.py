"""An ONNX graph with its card, written as the artifact a format names: ONNX FP32/FP16 or a TensorRT plan.

Shared by checkpoint exports and foreign models: from the wrapped graph on,
both take the same path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from flame.core.card import ModelCard


@dataclass(frozen=True)
class Written:
    """What :func:`write_artifact` wrote: the artifact's card, files beside it, remarks."""

    card: ModelCard
    extra_files: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()


def write_artifact(graph: Any, card: ModelCard, out: str | os.PathLike, fmt: str, fp16: bool = False,
                   workspace_mb: int = 1024, timing_cache: str | os.PathLike | None = None,
                   step: Callable[[str], None] | None = None) -> Written:
    """Write an FP32 ONNX graph (card in its metadata) as ``fmt`` (``onnx`` or ``tensorrt``) at ``out``.

    Raises:
        DependencyError: when onnxconverter-common or TensorRT is missing.
        EngineError: when the graph is invalid or the plan build fails.
    """
    from flame.export.onnx_export import save_onnx, set_card

    step = step or (lambda message: None)
    out = Path(out)
    if fmt == "onnx":
        notes: list[str] = []
        if fp16:
            from flame.export.fp16 import convert_to_fp16

            step("converting to FP16 (onnxconverter-common; I/O and risky ops kept in FP32)")
            total = len(graph.graph.node)
            graph, kept = convert_to_fp16(graph)
            card = card.replace(precision="fp16")
            set_card(graph, card)
            notes.append(f"{len(kept)} of {total} nodes kept in FP32 "
                         "(input normalisation, casts, reductions, normalisation layers, logits upsampling, argmax)")
        step(f"writing {out}")
        save_onnx(graph, out)
        return Written(card, (), tuple(notes))
    from flame.export.tensorrt_build import build_plan

    precision = "fp16" if fp16 else "fp32"
    step(f"building the TensorRT plan ({precision}, workspace {workspace_mb} MiB)")
    build = build_plan(graph, out, card, fp16=fp16, workspace_mb=workspace_mb, timing_cache=timing_cache)
    extra = [build.sidecar]
    notes = [f"built in {build.seconds:.1f} s with TensorRT {build.card.tensorrt_version} on {build.card.gpu_name} "
             f"({'strongly typed FP16 graph' if build.strongly_typed else 'builder precision flags'})"]
    if build.timing_cache is not None:
        extra.append(build.timing_cache)
        notes.append(f"timing cache {build.timing_cache}: "
                     + (f"reused {build.timing_cache_reused} bytes" if build.timing_cache_reused else "new"))
    return Written(build.card, tuple(extra), tuple(notes))
