"""Shape rules and helpers shared by the networks: sides are multiples of 32, resizes get explicit sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from flame.core.sizes import format_size
from flame.core.errors import ConfigError

STRIDE = 32


def check_input_size(height: int, width: int) -> None:
    """Refuse sides that are not multiples of 32, naming the nearest valid ones.

    Raises:
        ConfigError: when a side is not a positive multiple of 32.
    """
    bad = [side for side in (height, width) if side <= 0 or side % STRIDE]
    if bad:
        def near(side: int) -> str:
            low = max(STRIDE, side // STRIDE * STRIDE)
            return f"{low}" if low >= side else f"{low} or {low + STRIDE}"
        raise ConfigError(
            f"input size {format_size((height, width))} is not a multiple of {STRIDE} on both sides; "
            f"use height {near(height)} and width {near(width)}"
        )


def interp(x: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    """Bilinear resize to an explicit (exportable) size."""
    return F.interpolate(x, size=(int(size[0]), int(size[1])), mode="bilinear", align_corners=False)


def largest_divisor_at_most(n: int, limit: int) -> int:
    """The largest divisor of ``n`` not above ``limit`` (integer pooling grids)."""
    return max(d for d in range(1, min(n, limit) + 1) if n % d == 0)
