"""Torch engine: a ``torch.export`` program (``.pt2``) of the deploy wrapper.

The model card travels inside the file (``torch.export.save(...,
extra_files={CARD_FILE: json})``). torch is imported only when an engine is
created, never by ``flame.runtime`` itself. On CUDA the program can run in
FP16 through autocast (convolutions in FP16; autocast keeps reductions and
softmax in FP32); on CPU it always runs in FP32.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from flame.core.deps import needs
from flame.core.errors import CardError, ConfigError, EngineError, first_line
from flame.runtime.engines.base import Engine, Timing, now_ms
from flame.core.card import ModelCard

#: Name of the card inside a ``.pt2`` archive.
CARD_FILE = "flame.card"


def _import_torch() -> Any:
    with needs("the .pt2 engine", "PyTorch", "pip install torch"):
        import torch
    return torch


def read_program_card(path: str | os.PathLike, required: bool = True) -> tuple[Any, ModelCard | None]:
    """Load a ``.pt2`` program and the card inside it.

    Returns:
        ``(ExportedProgram, card)``; the card is None when absent and not ``required``.

    Raises:
        EngineError: when the file is not a torch.export program.
        CardError: when it carries no valid FLAME card.
    """
    torch = _import_torch()
    extra = {CARD_FILE: ""}
    try:
        program = torch.export.load(str(path), extra_files=extra)
    except Exception as exc:  # BadZipFile, RuntimeError, pickle errors... all mean "not a program"
        raise EngineError(f"{path} is not a loadable torch.export program ({first_line(exc, 160, typed=True)})") from exc
    text = extra[CARD_FILE]
    if not text and not required:
        return program, None
    if not text:
        raise CardError(f"{path} carries no FLAME model card ('{CARD_FILE}'); export it with flame-export --format torch")
    return program, ModelCard.from_json(text, str(path))


def torch_device(torch: Any, device: str | None) -> Any:
    """The torch device to run on: ``cpu``, ``cuda`` or ``cuda:N``; None picks CUDA when available.

    Raises:
        EngineError: on an unknown device, or CUDA asked for where torch sees none.
    """
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError(f"device {device!r} asked for, but PyTorch sees no CUDA device here; use device='cpu'")
    try:
        return torch.device(device)
    except RuntimeError as exc:
        raise EngineError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from exc


class TorchModuleEngine(Engine):
    """A torch module that maps uint8 frames to labels, behind the engine contract.

    Shared by the ``.pt2`` engine and the PyTorch reference
    (:class:`flame.trainer.reference.ReferenceEngine`).

    Args:
        path: the file the module came from.
        card: its model card.
        module: the module (the deploy wrapper, or a program's module).
        device: see :func:`torch_device`.
        fp16: run under FP16 autocast (CUDA only); None follows the card's precision on CUDA.

    Raises:
        EngineError: when the device is unusable.
        ConfigError: when FP16 is asked for on the CPU.
    """

    backend = "torch"

    def __init__(self, path: str | os.PathLike, card: ModelCard, module: Any, device: str | None = None,
                 fp16: bool | None = None) -> None:
        torch = _import_torch()
        target = torch_device(torch, device)
        if fp16 is None:
            fp16 = card.precision == "fp16" and target.type == "cuda"
        if fp16 and target.type != "cuda":
            raise ConfigError("FP16 on the torch engine needs a CUDA device; run it in FP32 on the CPU (fp16=False)")
        super().__init__(Path(path), card.replace(precision="fp16" if fp16 else "fp32"), str(target))
        self._torch = torch
        self._target = target
        self.fp16 = bool(fp16)
        self._module = module.to(target)

    def _sync(self) -> None:
        if self._target.type == "cuda":
            self._torch.cuda.synchronize(self._target)

    def _infer(self, frames: np.ndarray, timing: Timing) -> np.ndarray:
        torch = self._torch
        start = now_ms()
        x = torch.from_numpy(frames)
        mark = now_ms()
        timing.prepare_ms = mark - start
        x = x.to(self._target, non_blocking=False)
        self._sync()
        timing.copy_in_ms = now_ms() - mark
        mark = now_ms()
        autocast = torch.autocast(self._target.type, dtype=torch.float16) if self.fp16 else contextlib.nullcontext()
        try:
            with torch.inference_mode(), autocast:
                y = self._module(x)
            if y.is_floating_point():
                y = y.float()  # logits exports: FP32 out, whatever autocast computed in
            self._sync()
        except RuntimeError as exc:
            raise EngineError(f"the torch program {self.path.name} failed: {first_line(exc)}") from exc
        timing.compute_ms = now_ms() - mark
        mark = now_ms()
        labels = y.cpu().numpy()
        timing.copy_out_ms = now_ms() - mark
        return labels

    def _release(self) -> None:
        self._module = None
        if self._target.type == "cuda":
            self._torch.cuda.empty_cache()


class TorchExportEngine(TorchModuleEngine):
    """Runs a FLAME ``.pt2`` program with PyTorch.

    Args:
        path: the ``.pt2`` file.
        device: ``cpu``, ``cuda`` or ``cuda:N``; None picks CUDA when available.
        fp16: run under FP16 autocast (CUDA only); None follows the card's precision on CUDA.

    Raises:
        EngineError: when the file is not a program or the device is unusable.
        CardError: when it carries no card.
        ConfigError: when FP16 is asked for on the CPU.

    A ``card`` given replaces the program's own (load_engine checks it against a dry run).
    """

    def __init__(self, path: str | os.PathLike, device: str | None = None, fp16: bool | None = None,
                 card: ModelCard | None = None) -> None:
        program, own = read_program_card(path, required=card is None)
        super().__init__(path, card if card is not None else own, program.module(), device, fp16)
