"""The PyTorch reference predictor: what every engine must reproduce."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from flame.core.errors import EngineError
from flame.core.card import ModelCard
from flame.trainer.deploy import DeployWrapper


def _wrapper(model: nn.Module, card: ModelCard) -> DeployWrapper:
    # Cached on the model (outside its submodules, so state_dict is unchanged)
    # so repeated calls do not rebuild it.
    cached = model.__dict__.get("_flame_deploy")
    if cached is None or cached[0] != card:
        cached = (card, DeployWrapper(model, card).eval())
        model.__dict__["_flame_deploy"] = cached
    return cached[1]


@torch.no_grad()
def predict(model: nn.Module, card: ModelCard, frames: np.ndarray) -> np.ndarray:
    """Label map of one window, through the same wrapper the engines export.

    Args:
        model: the trained network (eval mode is set here).
        card: its model card.
        frames: uint8 ``[T, H, W, 3]`` BGR at the card's input size, oldest first.

    Returns:
        uint8 ``[H, W]`` class ids.

    Raises:
        EngineError: when the frames do not match the card's window and size.
    """
    expected = (card.window, *card.input_size, 3)
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.shape != expected:
        found = f"{frames.dtype} {frames.shape}" if isinstance(frames, np.ndarray) else type(frames).__name__
        raise EngineError(f"expected uint8 frames of shape {expected} [T, H, W, 3] BGR, found {found}")
    wrapper = _wrapper(model, card)
    model.eval()
    device = next(model.parameters()).device
    labels = wrapper(torch.from_numpy(np.ascontiguousarray(frames)).to(device))
    return labels.cpu().numpy()
