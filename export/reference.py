"""The PyTorch reference behind the engine contract.

:class:`ReferenceEngine` runs a checkpoint through the same
:class:`~flame.trainer.deploy.DeployWrapper` every export contains, so it can
stand wherever an engine is expected: ``flame-eval --checkpoint``, the
``torch`` row of ``flame-bench``, or ``flame.runtime.stream.Stream``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from flame.errors import ConfigError, DependencyError
from flame.runtime.engines.base import Engine, Timing, now_ms
from flame.trainer.checkpoint import load_checkpoint
from flame.trainer.deploy import DeployWrapper
from flame.trainer.models import check_input_size


def resolve_device(device: str | None) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N``; None picks CUDA when available.

    Raises:
        DependencyError: when CUDA is asked for and not available.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DependencyError(f"--device {device} asked for CUDA, but torch sees no CUDA device here")
    return dev


class ReferenceEngine(Engine):
    """A checkpoint run eagerly by PyTorch, bytes in and labels out.

    Args:
        checkpoint: a ``flame-train`` checkpoint.
        device: ``cpu``/``cuda``; None picks CUDA when available.
        fp16: run the network under CUDA autocast (FP16); ignored on CPU.
        input_size: (H, W) to run at instead of the card's.

    Raises:
        CheckpointError: on a missing, corrupt or card-less checkpoint.
        ConfigError: on an input size that is not a multiple of 32.
    """

    backend = "torch-eager"

    def __init__(self, checkpoint: str | os.PathLike, device: str | None = None, fp16: bool = False,
                 input_size: tuple[int, int] | None = None) -> None:
        dev = resolve_device(device)
        model, card = load_checkpoint(checkpoint, dev)
        if input_size is not None:
            check_input_size(*input_size)
            card = card.replace(input_size=tuple(input_size))
        self.fp16 = bool(fp16 and dev.type == "cuda")
        card = card.replace(backend="pytorch", precision="fp16" if self.fp16 else "fp32")
        super().__init__(Path(checkpoint), card, str(dev))
        self.torch_device = dev
        self.wrapper = DeployWrapper(model, card, card.output).to(dev).eval()

    def _sync(self) -> None:
        if self.torch_device.type == "cuda":
            torch.cuda.synchronize(self.torch_device)

    @torch.no_grad()
    def _infer(self, frames: np.ndarray, timing: Timing) -> np.ndarray:
        start = now_ms()
        tensor = torch.from_numpy(frames)
        prepared = now_ms()
        tensor = tensor.to(self.torch_device, non_blocking=False)
        self._sync()
        copied = now_ms()
        if self.fp16:
            with torch.autocast("cuda", dtype=torch.float16):
                out = self.wrapper(tensor)
        else:
            out = self.wrapper(tensor)
        self._sync()
        computed = now_ms()
        labels = out.cpu().numpy()
        done = now_ms()
        timing.prepare_ms, timing.copy_in_ms = prepared - start, copied - prepared
        timing.compute_ms, timing.copy_out_ms = computed - copied, done - computed
        return labels

    def _release(self) -> None:
        self.wrapper = None
        if self.torch_device.type == "cuda":
            torch.cuda.empty_cache()


def open_reference(checkpoint: str | os.PathLike, device: str | None = None, fp16: bool = False,
                   input_size: tuple[int, int] | None = None) -> ReferenceEngine:
    """Load a checkpoint as an engine (see :class:`ReferenceEngine`).

    Raises:
        ConfigError: when FP16 is asked for on CPU.
    """
    if fp16 and resolve_device(device).type != "cuda":
        raise ConfigError("FP16 for the PyTorch reference needs a CUDA device; drop --fp16 on CPU")
    return ReferenceEngine(checkpoint, device, fp16, input_size)
