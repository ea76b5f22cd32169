"""PyTorch models, data and training for static, future and two-frame prediction.

Importing this package imports torch. Other layers use the architecture
registry (:data:`ARCHITECTURES`), :func:`build_model`, :func:`load_checkpoint`
(``path -> (model, card)``), :class:`ReferenceEngine` and
:func:`load_reference` (the PyTorch reference behind the engine contract) and
:func:`predict` (one window through it); the training loop is
:func:`flame.trainer.train.train`.
"""

from flame.trainer.checkpoint import load_checkpoint
from flame.trainer.architectures import ARCHITECTURES, MODEL_NAMES, Architecture, architecture
from flame.trainer.models import build_model
from flame.trainer.predict import predict
from flame.trainer.reference import ReferenceEngine, load_reference

__all__ = ["ARCHITECTURES", "Architecture", "MODEL_NAMES", "ReferenceEngine", "architecture", "build_model",
           "load_checkpoint", "load_reference", "predict"]
