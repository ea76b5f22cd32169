"""Export of trained checkpoints to ONNX, FP16 ONNX, TensorRT plans and torch.export programs.

Modules: :mod:`~flame.export.exporter` (``export_checkpoint``, what ``flame-export`` calls),
:mod:`~flame.export.onnx_export`, :mod:`~flame.export.fp16`, :mod:`~flame.export.program`
(``.pt2``), :mod:`~flame.export.tensorrt_build` and :mod:`~flame.export.parity`.

Export needs the ``[train]`` extra (torch and onnx): without it, importing any
module of the package raises :class:`~flame.core.extras.MissingExtraError`
naming it.
"""

from flame.core.extras import require_extra

require_extra("torch", "onnx")
