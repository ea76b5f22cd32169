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
from flame.trainer.deploy import DeployWrapper


def example_frames(card: ModelCard) -> torch.Tensor:
    """A zero uint8 ``[T, H, W, 3]`` input of the card's window and size (for tracing)."""
    height, width = card.input_size
    return torch.zeros((card.window, height, width, 3), dtype=torch.uint8)


def export_program(wrapper: DeployWrapper, card: ModelCard) -> Any:
    """``torch.export`` the wrapper at the card's static input shape.

    Raises:
        EngineError: when tracing fails.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.export.export(wrapper, (example_frames(card),))
    except Exception as exc:  # torch.export raises many types; all mean "could not export"
        raise EngineError(f"torch.export of {card.architecture} failed: {first_line(exc)}") from exc


def save_program(program: Any, card: ModelCard, path: str | os.PathLike) -> Path:
    """Write the program with the card inside (``extra_files``), atomically."""
    # Saved through a buffer: torch.export.save warns about a file name that does not end in .pt2
    # (the temporary name does not).
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={CARD_FILE: card.to_json()})
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())
    return Path(path)
