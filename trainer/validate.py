"""Validation during training: static mIoU and FLAME through the PyTorch reference, with ``flame.evaluation``."""

from __future__ import annotations

from typing import Callable

from torch import nn

from flame.core.card import ModelCard
from flame.evaluation.datasets import SequenceDataset
from flame.evaluation.protocols import PredictorSource, evaluate
from flame.trainer.predict import predict


def validate(model: nn.Module, card: ModelCard, dataset: SequenceDataset, flame_offset: int,
             progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """(static mIoU at k = 0, FLAME at ``flame_offset``) through the PyTorch reference predictor."""
    source = PredictorSource(lambda frames: predict(model, card, frames), window=card.window,
                             input_size=card.input_size)
    result = evaluate(dataset, source, offsets=(0, flame_offset), progress=progress)
    return result.flame[0].miou, result.flame[flame_offset].miou
