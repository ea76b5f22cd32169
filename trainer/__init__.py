"""PyTorch models, data and training for static, future and two-frame prediction.

Importing this package imports torch. Other layers use :func:`build_model`,
:func:`load_checkpoint` (``path -> (model, card)``) and :func:`predict` (the
PyTorch reference predictor); the training loop is
:func:`flame.trainer.train.train`.
"""

from flame.trainer.checkpoint import load_checkpoint
from flame.trainer.models import MODEL_NAMES, build_model
from flame.trainer.predict import predict

__all__ = ["MODEL_NAMES", "build_model", "load_checkpoint", "predict"]
