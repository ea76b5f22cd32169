"""Frame offset k from a latency and a frame rate (docs/metric.md, "Frame offset k").

Lives in the top-level package because both ``flame.evaluation`` (FLAME
pairing) and ``flame.runtime`` (k in run reports) need it, and neither may
import the other.
"""

from __future__ import annotations

import math

from flame.core.errors import ConfigError, param

# Latencies and frame intervals come from floats (0.06 s * 16.666 fps...):
# a product within this distance of an integer is that integer.
_TOLERANCE = 1e-9


def check_fps(fps: float) -> float:
    """Return ``fps`` as float, refusing non-positive or non-finite values.

    Raises:
        ConfigError: when fps is not a positive finite number.
    """
    if not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise ConfigError(f"expected a positive frame rate, found {param('fps')} {fps!r}; pass a value > 0")
    return float(fps)


def frame_offset(latency_s: float, fps: float) -> int:
    """k = ceil(latency * fps), exact multiples not bumped.

    ``latency_s == 1/fps`` gives 1, ``0`` gives 0 (static mIoU).

    Args:
        latency_s: latency in seconds (>= 0).
        fps: frames per second of the sequence (> 0).

    Returns:
        The number of frames the world has moved on when the output is ready.

    Raises:
        ConfigError: on a negative latency or a non-positive fps.
    """
    fps = check_fps(fps)
    if not isinstance(latency_s, (int, float)) or not math.isfinite(latency_s) or latency_s < 0:
        raise ConfigError(f"expected a latency >= 0, found {latency_s!r}")
    frames = latency_s * fps
    nearest = round(frames)
    if abs(frames - nearest) <= _TOLERANCE * max(1.0, abs(frames)):
        return int(nearest)
    return int(math.ceil(frames))
