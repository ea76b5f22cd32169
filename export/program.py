"""The ``torch.export`` program (``.pt2``) of a deploy wrapper."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from flame.core.errors import EngineError, first_line
from flame.core.files import atomic_path
from flame.runtime.engines.torch_export import CARD_FILE
from flame.core.card import ModelCard
from flame.trainer.deploy import DeployWrapper, module_device


def device_of(source: Any) -> torch.device:
    """The device a module's (or an exported program's) weights sit on; the CPU when it holds none."""
    if not isinstance(source, torch.export.ExportedProgram):
        return module_device(source)
    tensors = [*source.state_dict.values(), *source.constants.values()]
    return next((t.device for t in tensors if isinstance(t, torch.Tensor)), torch.device("cpu"))


def example_frames(card: ModelCard, device: torch.device | str = "cpu") -> torch.Tensor:
    """A zero uint8 ``[T, H, W, 3]`` input of the card's window and size on ``device`` (for tracing)."""
    height, width = card.input_size
    return torch.zeros((card.window, height, width, 3), dtype=torch.uint8, device=device)


def export_program(wrapper: DeployWrapper, card: ModelCard) -> Any:
    """``torch.export`` the wrapper at the card's static input shape, on the device its weights sit on.

    Raises:
        EngineError: when tracing fails.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.export.export(wrapper, (example_frames(card, device_of(wrapper)),))
    except Exception as exc:  # torch.export raises many types; all mean "could not export"
        raise EngineError(f"torch.export of {card.architecture} failed: {first_line(exc)}") from exc


def save_program(program: Any, card: ModelCard, path: str | os.PathLike) -> Path:
    """Write the program with the card inside (``extra_files``), atomically, its weights on the CPU.

    A program traced from a model on a GPU is moved to the CPU first: a ``.pt2``
    holding CUDA tensors would not load on a machine without one, and the
    engine moves it to its own device when it loads it.
    """
    if device_of(program).type != "cpu":
        from torch.export.passes import move_to_device_pass

        program = move_to_device_pass(program, "cpu")
    # Saved through a buffer: torch.export.save warns about a file name that does not end in .pt2
    # (the temporary name does not).
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={CARD_FILE: card.to_json()})
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    return Path(path)
