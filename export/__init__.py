"""Export: trained checkpoints, user modules and foreign ONNX models to the artifacts a robot runs.

The three entry points (imported lazily, so that wrapping a foreign ONNX model
needs no torch):

* :func:`export_checkpoint` (:mod:`~flame.export.exporter`): a ``flame-train`` checkpoint;
* :func:`export_module` (:mod:`~flame.export.module_export`): any ``torch.nn.Module`` with a card;
* :func:`export_foreign` (:mod:`~flame.export.foreign`): a user's segmentation ONNX.

Modules: :mod:`~flame.export.formats` (the registry of formats, one exporter each),
:mod:`~flame.export.onnx_export`, :mod:`~flame.export.fp16`, :mod:`~flame.export.program`
(``.pt2``), :mod:`~flame.export.tensorrt_build`, :mod:`~flame.export.parity`,
:mod:`~flame.export.foreign_graph` and :mod:`~flame.export.host_reference`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"export_checkpoint": "flame.export.exporter", "export_model": "flame.export.exporter",
         "ExportResult": "flame.export.exporter", "export_module": "flame.export.module_export",
         "export_foreign": "flame.export.foreign"}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'flame.export' has no attribute {name!r}")
