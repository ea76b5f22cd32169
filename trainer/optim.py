"""Loss, optimiser and learning-rate schedule of a training run."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from flame.evaluation.datasets.base import VOID
from flame.trainer.config import TrainConfig
from flame.trainer.models import encoder_parameters

#: Optimiser parameter groups, in this order.
GROUPS = ("decoder", "encoder")


def segmentation_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Pixel cross-entropy over non-void pixels (0 for an all-void batch, never NaN).

    Args:
        logits: float ``[N, C, H, W]``.
        labels: integer ``[N, H, W]``, 255 void.
    """
    labels = labels.long()
    total = F.cross_entropy(logits.float(), labels, ignore_index=VOID, reduction="sum")
    # Dividing by at least 1 keeps an all-void batch finite, so no process skips its backward pass under DDP.
    return total / (labels != VOID).sum().clamp(min=1)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam (SwiftNet) or SGD with momentum (DeepLabV3+), the encoder at its own learning rate."""
    recipe = config.recipe
    encoder, rest = encoder_parameters(model)
    groups = [{"params": rest, "lr": recipe.lr, "name": GROUPS[0]},
              {"params": encoder, "lr": recipe.encoder_lr, "name": GROUPS[1]}]
    if recipe.optimizer == "adam":
        return torch.optim.Adam(groups, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig,
                   total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """Cosine annealing to ``min_lr`` or a poly schedule, stepped once per optimisation step."""
    recipe = config.recipe
    total_steps = max(1, int(total_steps))
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=recipe.min_lr)
    return torch.optim.lr_scheduler.PolynomialLR(optimizer, total_iters=total_steps, power=recipe.power)


def learning_rates(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """Current learning rate of each group by name."""
    return {group.get("name", str(i)): float(group["lr"]) for i, group in enumerate(optimizer.param_groups)}
