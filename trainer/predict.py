"""``predict``: one window through the PyTorch reference, for code that holds a model and its card."""

from __future__ import annotations

import numpy as np
from torch import nn

from flame.core.card import ModelCard
from flame.trainer.deploy import module_device
from flame.trainer.reference import ReferenceEngine


def _reference(model: nn.Module, card: ModelCard) -> ReferenceEngine:
    # Cached on the model (outside its submodules, so state_dict is unchanged) so that repeated
    # calls do not rebuild it; rebuilt when the card or the model's device changes.
    key = (card, module_device(model))
    cached = model.__dict__.get("_flame_reference")
    if cached is None or cached[0] != key:
        if cached is not None:
            cached[1].close()  # the one it replaces may hold memory on the model's old device
        cached = (key, ReferenceEngine(model, card))
        model.__dict__["_flame_reference"] = cached
    return cached[1]


def predict(model: nn.Module, card: ModelCard, frames: np.ndarray) -> np.ndarray:
    """Label map of one window, through :class:`~flame.trainer.reference.ReferenceEngine`.

    Args:
        model: the trained network (eval mode is set here).
        card: its model card.
        frames: uint8 ``[T, H, W, 3]`` BGR at the card's input size, oldest first.

    Returns:
        uint8 ``[H, W]`` class ids.

    Raises:
        EngineError: when the frames do not match the card's window and size.
    """
    engine = _reference(model, card.replace(output="labels"))
    # Every call: a cached engine's wrapper set eval mode once, and training has set train mode since.
    model.eval()
    return engine(frames)
