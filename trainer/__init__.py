"""PyTorch models, data and training for static, future and two-frame prediction.

Importing this package imports torch; without it, importing any module of
the package raises :class:`~flame.core.extras.MissingExtraError` naming the
``[train]`` extra (one line for the commands, not a traceback). Other layers use :func:`build_model`,
:func:`load_checkpoint` (``path -> (model, card)``) and :func:`predict` (the
PyTorch reference predictor); the training loop is
:func:`flame.trainer.train.train`.
"""

from flame.core.extras import require_extra

require_extra("torch")

from flame.trainer.checkpoint import load_checkpoint  # noqa: E402
from flame.trainer.models import MODEL_NAMES, build_model  # noqa: E402
from flame.trainer.predict import predict  # noqa: E402

__all__ = ["MODEL_NAMES", "build_model", "load_checkpoint", "predict"]
