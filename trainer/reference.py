"""The PyTorch reference: a trained network behind the engine contract, what every engine must reproduce.

:class:`ReferenceEngine` runs the network through the same deploy wrapper
(:func:`~flame.trainer.deploy.deploy_wrapper`) every export contains, so it
stands wherever an engine is expected: training's validation, ``flame-eval
--checkpoint``, the ``torch`` row of ``flame-bench``, or
``flame.runtime.stream.Stream``. :func:`load_reference` opens one from a
checkpoint.
"""

from __future__ import annotations

import os

from torch import nn

from flame.core.card import ModelCard
from flame.runtime.engines.torch_export import TorchModuleEngine
from flame.trainer.blocks import check_input_size
from flame.trainer.checkpoint import load_checkpoint
from flame.trainer.deploy import deploy_wrapper, module_device


class ReferenceEngine(TorchModuleEngine):
    """A network run eagerly by PyTorch, bytes in and labels (or logits, per ``card.output``) out.

    Args:
        model: the trained network; it is put in eval mode (and on ``device`` when one is given).
        card: its model card.
        device: ``cpu``/``cuda``; None keeps the model's own device.
        fp16: run the network under CUDA autocast (FP16).
        path: the checkpoint it came from (for messages and reports).

    Raises:
        ConfigError: on FP16 on the CPU.
        EngineError: when the device is unusable.
    """

    backend = "torch-eager"

    def __init__(self, model: nn.Module, card: ModelCard, device: str | None = None, fp16: bool = False,
                 path: str | os.PathLike = "model") -> None:
        card = card.replace(backend="pytorch")
        wrapper = deploy_wrapper(model, card)
        if device is None:
            device = str(module_device(model))
        super().__init__(path, card, wrapper, device, fp16)


def load_reference(checkpoint: str | os.PathLike, device: str | None = None, fp16: bool = False,
                   input_size: tuple[int, int] | None = None) -> ReferenceEngine:
    """The reference engine of a ``flame-train`` checkpoint.

    Args:
        checkpoint: a ``flame-train`` checkpoint.
        device: ``cpu``/``cuda``; None picks CUDA when available.
        fp16: run the network under CUDA autocast (FP16).
        input_size: (H, W) to run at instead of the card's.

    Raises:
        CheckpointError: on a missing, corrupt or card-less checkpoint.
        ConfigError: on an input size that is not a multiple of 32, or FP16 on the CPU.
        EngineError: when the device is unusable.
    """
    model, card = load_checkpoint(checkpoint)
    if input_size is not None:
        check_input_size(*input_size)
        card = card.replace(input_size=tuple(input_size))
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return ReferenceEngine(model, card, device, fp16, checkpoint)
