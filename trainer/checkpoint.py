"""Checkpoints: a plain dict loadable with ``torch.load(..., weights_only=True)``.

Keys: ``model`` (state dict), ``optimizer``, ``scheduler``, ``epoch`` (epochs
completed), ``config`` (the training options), ``card`` (the model card as a
plain dict), and optionally ``rng`` and ``best`` (best validation FLAME so far).
Written to a temporary name and renamed, so an interrupted run never leaves
a broken file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from flame.core.errors import CardError, CheckpointError, first_line
from flame.core.files import atomic_path
from flame.core.card import ModelCard

REQUIRED_KEYS = ("model", "epoch", "card")


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write a checkpoint dict atomically.

    Raises:
        CheckpointError: when a required key is missing.
    """
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"checkpoint payload lacks {missing}")
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint dict with ``weights_only=True`` and check its keys.

    Raises:
        CheckpointError: when the file is missing, corrupt, or not a FLAME checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot read checkpoint {path} ({first_line(exc, 160, typed=True)}); "
            "the file is corrupt or not a torch checkpoint"
        ) from exc
    if not isinstance(data, dict) or any(k not in data for k in REQUIRED_KEYS):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(
            f"{path} is not a FLAME checkpoint: expected keys {list(REQUIRED_KEYS)}, found {found}; "
            "checkpoints come from flame-train"
        )
    return data


def card_of(data: dict[str, Any], source: str = "checkpoint") -> ModelCard:
    """The model card stored in a checkpoint dict.

    Raises:
        CheckpointError: when the card is missing or invalid.
    """
    try:
        return ModelCard.from_dict(data.get("card"), f"{source} card")
    except CardError as exc:
        raise CheckpointError(f"{source} has no usable model card: {exc.template}") from exc


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, ModelCard]:
    """Rebuild the trained network from a checkpoint, in eval mode.

    Returns:
        ``(model, card)``.

    Raises:
        CheckpointError: on a missing/corrupt file, a missing card, or weights
            that do not fit the card's architecture.
    """
    from flame.trainer.models import build_model

    data = read_checkpoint(path)
    card = card_of(data, str(path))
    model = build_model(card.architecture, card.num_classes, card.window)
    try:
        model.load_state_dict(data["model"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"weights in {path} do not fit {card.architecture} (window {card.window}, "
            f"{card.num_classes} classes): {first_line(exc)}"
        ) from exc
    return model.to(device).eval(), card
