"""Starting a run from another FLAME checkpoint's weights (``flame-train --init``).

A user who has a static network fine-tunes it for the future (or two frames)
instead of training from scratch; the demo does the same so that its rows
differ by what they were trained for, not by their random start.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from flame.core.errors import CheckpointError
from flame.trainer.checkpoint import card_of, read_checkpoint
from flame.trainer.models import first_conv_key


def load_init(model: nn.Module, path: str | os.PathLike, architecture: str) -> str:
    """Copy a FLAME checkpoint's weights into ``model`` (the whole network); returns a note for the user.

    A model with a wider input window than the checkpoint's (two-frame from
    static) gets the checkpoint's first-convolution weights on the current
    frame's slice and zeros on the earlier frames', so it starts out computing
    exactly what the checkpoint's network computes; a narrower window keeps the
    current frame's slice.

    Raises:
        CheckpointError: when the file is not a FLAME checkpoint, is another
            architecture, or its weights do not fit (another class count).
    """
    data = read_checkpoint(path)
    card = card_of(data, str(path))
    if card.architecture != architecture:
        raise CheckpointError(f"{path} holds a {card.architecture} network; the run trains {architecture}")
    state = dict(data["model"])
    own = model.state_dict()
    first = "encoder." + first_conv_key(model)
    source, target = state.get(first), own.get(first)
    if isinstance(source, torch.Tensor) and target is not None and source.shape != target.shape \
            and source.ndim == 4 and source.shape[0] == target.shape[0] and source.shape[2:] == target.shape[2:]:
        channels = min(source.shape[1], target.shape[1])
        fitted = torch.zeros_like(target)
        fitted[:, -channels:] = source[:, -channels:]  # the current frame is the last slice
        state[first] = fitted
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = (lines[1] if len(lines) > 1 else lines[0])[:200]  # line 0 only names the model class
        raise CheckpointError(f"the weights in {path} ({card.num_classes} classes) do not fit this run's network: "
                              f"{detail}") from exc
    return f"started from the weights of {path} ({card.mode}, window {card.window}, offset {card.offset})"
