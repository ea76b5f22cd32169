"""Export: trained checkpoints, user modules and foreign ONNX models to the artifacts a robot runs.

One export path (imported lazily, so that wrapping a foreign ONNX model needs no torch):
:func:`export` (:mod:`~flame.export.pipeline`) takes a model source and :class:`ExportOptions`
(:mod:`~flame.export.options`, with :class:`Int8Options` and :class:`TensorRTOptions`). The sources:

* :class:`CheckpointSource` (:mod:`~flame.export.exporter`): a ``flame-train`` checkpoint;
* :class:`ModuleSource` (:mod:`~flame.export.module_export`): any ``torch.nn.Module`` with a card;
* :class:`ForeignSource` (:mod:`~flame.export.foreign`): a user's segmentation ONNX.

:func:`export_checkpoint`, :func:`export_module` and :func:`export_foreign` are the same path with the
options as keywords.

Modules: :mod:`~flame.export.formats` (the registry of formats, one exporter each),
:mod:`~flame.export.onnx_export`, :mod:`~flame.export.fp16`, :mod:`~flame.export.program`
(``.pt2``), :mod:`~flame.export.tensorrt_build`, :mod:`~flame.export.parity`,
:mod:`~flame.export.foreign_graph` and :mod:`~flame.export.host_reference`.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"export": "flame.export.pipeline", "ExportResult": "flame.export.pipeline",
         "ExportOptions": "flame.export.options", "Int8Options": "flame.export.options",
         "TensorRTOptions": "flame.export.options", "CheckpointSource": "flame.export.exporter",
         "export_checkpoint": "flame.export.exporter", "ModuleSource": "flame.export.module_export",
         "export_module": "flame.export.module_export", "ForeignSource": "flame.export.foreign",
         "ForeignSpec": "flame.export.foreign", "export_foreign": "flame.export.foreign"}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'flame.export' has no attribute {name!r}")
