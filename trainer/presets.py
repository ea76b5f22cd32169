"""The paper's training recipes (section 4.3), used where no option overrides them.

Each architecture of :mod:`flame.trainer.architectures` names its family's
recipe; a resolved run (:class:`flame.trainer.config.TrainConfig`) holds the
recipe it trains with: its family's, with the options the user gave.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """Optimiser, schedule and data settings of a training run.

    Attributes:
        optimizer: ``adam`` or ``sgd``.
        lr: learning rate of the decoder (the part trained from scratch).
        encoder_lr: learning rate of the ImageNet-pretrained encoder.
        weight_decay: L2 weight decay.
        momentum: SGD momentum (unused by Adam).
        schedule: ``cosine`` (annealing to ``min_lr``) or ``poly`` (power ``power``).
        min_lr: final learning rate of the cosine schedule.
        power: exponent of the poly schedule.
        batch_size: samples per step and process.
        crop: (H, W) of the training crop.
        epochs: passes over the training samples.
    """

    optimizer: str
    lr: float
    encoder_lr: float
    weight_decay: float
    momentum: float
    schedule: str
    min_lr: float
    power: float
    batch_size: int
    crop: tuple[int, int]
    epochs: int


SWIFTNET = Recipe(optimizer="adam", lr=5e-4, encoder_lr=1e-4, weight_decay=1e-4, momentum=0.0,
                  schedule="cosine", min_lr=1e-6, power=1.0, batch_size=12, crop=(768, 768), epochs=200)
DEEPLAB = Recipe(optimizer="sgd", lr=5e-2, encoder_lr=5e-3, weight_decay=5e-4, momentum=0.9,
                 schedule="poly", min_lr=0.0, power=3.0, batch_size=10, crop=(768, 768), epochs=220)
