"""The deploy wrapper: the one graph every engine and the torch reference run.

It takes uint8 ``[T, H, W, 3]`` BGR frames (oldest first) and does channel
order, scaling, normalisation, window stacking, the network and the argmax
inside the graph, so the host sends bytes and receives class ids (uint8
``[H, W]``), or float logits ``[C, H, W]`` for ``output="logits"``.
:func:`deploy_wrapper` is the one place it is built: the PyTorch reference
(:mod:`flame.trainer.reference`) and every export use it, so the reference
and the engines compute the same thing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from flame.core.errors import ConfigError
from flame.core.card import OUTPUTS, ModelCard


def normalisation(mean, std, device=None) -> tuple[Tensor, Tensor]:
    """``(scale, shift)`` with ``(x/255 - mean)/std == x * scale - shift`` per RGB channel, shaped ``[1, 1, 3, 1, 1]``."""
    mean_t = torch.tensor(mean, dtype=torch.float32, device=device)
    std_t = torch.tensor(std, dtype=torch.float32, device=device)
    return (1.0 / (255.0 * std_t)).view(1, 1, 3, 1, 1), (mean_t / std_t).view(1, 1, 3, 1, 1)


def normalise_frames(frames: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    """uint8 ``[N, T, H, W, 3]`` BGR -> float ``[N, 3T, H, W]`` normalised RGB, oldest frame first.

    The one preprocessing of the project: the exported graph (through
    :class:`DeployWrapper`) and training batches both run it.
    """
    n, t, h, w, _ = frames.shape
    x = frames.to(torch.float32).permute(0, 1, 4, 2, 3)  # [N, T, 3, H, W], BGR
    x = torch.flip(x, dims=[2])  # RGB
    x = x * scale - shift
    return x.reshape(n, t * 3, h, w)


def module_device(module: nn.Module) -> torch.device:
    """The device a module's weights (parameters, else buffers) sit on; the CPU when it holds none."""
    return next((t.device for t in (*module.parameters(), *module.buffers())), torch.device("cpu"))


class DeployWrapper(nn.Module):
    """Bytes in, labels out, around a trained network.

    Args:
        model: network mapping ``[1, 3T, H, W]`` normalised RGB to logits.
        card: the model card (window, mean/std, class count).
        output: ``labels`` (uint8 ``[H, W]``) or ``logits`` (float ``[C, H, W]``).
    """

    def __init__(self, model: nn.Module, card: ModelCard, output: str = "labels") -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ConfigError(f"output must be {' or '.join(map(repr, OUTPUTS))}, found {output!r}")
        if card.num_classes > 255:
            raise ConfigError(f"uint8 label maps hold at most 255 classes, the card has {card.num_classes}")
        self.model = model
        self.window = card.window
        self.output = output
        scale, shift = normalisation(card.mean, card.std)
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("shift", shift, persistent=False)

    def preprocess(self, frames: Tensor) -> Tensor:
        """uint8 ``[T, H, W, 3]`` BGR -> float ``[1, 3T, H, W]`` normalised RGB, oldest frame first."""
        return normalise_frames(frames.unsqueeze(0), self.scale, self.shift)

    def forward(self, frames: Tensor) -> Tensor:
        logits = self.model(self.preprocess(frames))[0]
        if self.output == "logits":
            return logits
        return torch.argmax(logits, dim=0).to(torch.uint8)


def deploy_wrapper(model: nn.Module, card: ModelCard) -> DeployWrapper:
    """The wrapper for ``card.output``, in eval mode, on the device of the model's parameters.

    Raises:
        ConfigError: on an unknown output kind or more classes than uint8 labels hold.
    """
    wrapper = DeployWrapper(model.eval(), card, card.output).eval()
    # The normalisation buffers start on the CPU; they must sit with the weights.
    return wrapper.to(module_device(model))
