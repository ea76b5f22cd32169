"""Engines: one contract, a backend per artifact kind, chosen by file suffix.

``.plan``/``.engine`` -> TensorRT, ``.onnx`` -> ONNX Runtime, ``.pt2`` ->
torch.export program. Each backend imports its library only when used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flame.core.errors import EngineError
from flame.runtime.engines.base import Engine, Timing

__all__ = ["Engine", "Timing", "load_engine", "SUFFIXES"]

SUFFIXES = {".onnx": "onnx", ".plan": "tensorrt", ".engine": "tensorrt", ".pt2": "torch"}


def load_engine(path: str | os.PathLike, device: str | None = None, **options: Any) -> Engine:
    """Load an engine file with the backend its suffix names.

    Args:
        path: ``.onnx``, ``.plan``/``.engine`` or ``.pt2`` file.
        device: ``cpu`` or ``cuda`` (backend default when None).
        **options: backend options (``threads``, ``providers``, ``cuda_graph``...).

    Raises:
        EngineError: on a missing file or an unknown suffix.
        DependencyError: when the backend's library is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"engine file {path} does not exist")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise EngineError(f"cannot tell the engine kind of {path.name}: expected one of {', '.join(SUFFIXES)}")
    if kind == "onnx":
        from flame.runtime.engines.onnxrt import OnnxRuntimeEngine

        return OnnxRuntimeEngine(path, device=device, **options)
    if kind == "tensorrt":
        from flame.runtime.engines.tensorrt import TensorRTEngine

        return TensorRTEngine(path, device=device, **options)
    from flame.runtime.engines.torch_export import TorchExportEngine

    return TorchExportEngine(path, device=device, **options)
