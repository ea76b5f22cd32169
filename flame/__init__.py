"""FLAME: latency-aware accuracy of real-time video segmentation.

The subpackages are independent layers (docs/architecture.md):
``flame.evaluation`` (metric, protocols, data sets; numpy/opencv only),
``flame.runtime`` (engines, sources, the real-time loop; no torch),
``flame.trainer`` (PyTorch models and training) and ``flame.export``
(ONNX/TensorRT export). Importing ``flame`` imports none of them.
"""

from flame.core.errors import FlameError

__all__ = ["FlameError", "__version__"]
__version__ = "0.1.0"
