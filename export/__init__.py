"""Export of trained checkpoints to ONNX, FP16 ONNX, TensorRT plans and torch.export programs.

Modules: :mod:`~flame.export.exporter` (``export_checkpoint``, what ``flame-export`` calls),
:mod:`~flame.export.formats` (the registry of formats, one exporter each),
:mod:`~flame.export.onnx_export`, :mod:`~flame.export.fp16`, :mod:`~flame.export.program`
(``.pt2``), :mod:`~flame.export.tensorrt_build` and :mod:`~flame.export.parity`.
"""
