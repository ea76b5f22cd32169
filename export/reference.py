"""The PyTorch reference behind the engine contract.

:class:`ReferenceEngine` runs a checkpoint through the same
:class:`~flame.trainer.deploy.DeployWrapper` every export contains, so it can
stand wherever an engine is expected: ``flame-eval --checkpoint``, the
``torch`` row of ``flame-bench``, or ``flame.runtime.stream.Stream``.
"""

from __future__ import annotations

import os

from flame.runtime.engines.torch_export import TorchModuleEngine
from flame.trainer.checkpoint import load_checkpoint
from flame.trainer.deploy import DeployWrapper
from flame.trainer.models import check_input_size


class ReferenceEngine(TorchModuleEngine):
    """A checkpoint run eagerly by PyTorch, bytes in and labels out.

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

    backend = "torch-eager"

    def __init__(self, checkpoint: str | os.PathLike, device: str | None = None, fp16: bool = False,
                 input_size: tuple[int, int] | None = None) -> None:
        model, card = load_checkpoint(checkpoint)
        if input_size is not None:
            check_input_size(*input_size)
            card = card.replace(input_size=tuple(input_size))
        card = card.replace(backend="pytorch")
        super().__init__(checkpoint, card, DeployWrapper(model, card, card.output).eval(), device, fp16)
