"""The deploy wrapper: the one graph every engine and the torch reference run.

It takes uint8 ``[T, H, W, 3]`` BGR frames (oldest first) and does channel
order, scaling, normalisation, window stacking, the network and the argmax
inside the graph, so the host sends bytes and receives class ids (uint8
``[H, W]``), or float logits ``[C, H, W]`` for ``output="logits"``.
``flame.trainer.predict`` and every export use this same module, so the
PyTorch reference and the engines compute the same thing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flame.errors import ConfigError
from flame.runtime.metadata import ModelCard


class DeployWrapper(nn.Module):
    """Bytes in, labels out, around a trained network.

    Args:
        model: network mapping ``[1, 3T, H, W]`` normalised RGB to logits.
        card: the model card (window, mean/std, class count).
        output: ``labels`` (uint8 ``[H, W]``) or ``logits`` (float ``[C, H, W]``).
    """

    def __init__(self, model: nn.Module, card: ModelCard, output: str = "labels") -> None:
        super().__init__()
        if output not in ("labels", "logits"):
            raise ConfigError(f"output must be 'labels' or 'logits', found {output!r}")
        if card.num_classes > 255:
            raise ConfigError(f"uint8 label maps hold at most 255 classes, the card has {card.num_classes}")
        self.model = model
        self.window = card.window
        self.output = output
        mean = torch.tensor(card.mean, dtype=torch.float32)
        std = torch.tensor(card.std, dtype=torch.float32)
        # (x/255 - mean)/std == x * scale - shift, per RGB channel.
        self.register_buffer("scale", (1.0 / (255.0 * std)).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", (mean / std).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, frames: Tensor) -> Tensor:
        """uint8 ``[T, H, W, 3]`` BGR -> float ``[1, 3T, H, W]`` normalised RGB, oldest frame first."""
        t, h, w, _ = frames.shape
        x = frames.to(torch.float32).permute(0, 3, 1, 2)  # [T, 3, H, W], BGR
        x = torch.flip(x, dims=[1])  # RGB
        x = x * self.scale - self.shift
        return x.reshape(1, t * 3, h, w)

    def forward(self, frames: Tensor) -> Tensor:
        logits = self.model(self.preprocess(frames))[0]
        if self.output == "logits":
            return logits
        return torch.argmax(logits, dim=0).to(torch.uint8)
