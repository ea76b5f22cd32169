"""What every forecaster is: the call, its result, and the baseline ``none``.

See :mod:`flame.runtime.forecast` for the methods and the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np


#: Class names moved segment by segment (everything else is background).
THING_NAMES = frozenset({
    "car", "truck", "bus", "train", "motorcycle", "motorbike", "bicycle", "person", "rider", "pedestrian",
    "ball", "caravan", "trailer", "vehicle", "animal", "dog", "cat", "horse", "cow", "sheep", "bird", "boat",
})


def thing_classes(class_names: Sequence[str]) -> tuple[int, ...]:
    """Ids of the classes whose names are known objects (:data:`THING_NAMES`)."""
    return tuple(i for i, name in enumerate(class_names) if name.strip().lower() in THING_NAMES)


@dataclass(frozen=True)
class Forecast:
    """What a forecaster returned.

    Attributes:
        labels: the label map expected at ``t + horizon`` (same shape and dtype as the input).
        method: the method that made it (``none`` when ``flow`` had to fall back).
        fallback: why the requested method was not used (None when it was).
    """

    labels: np.ndarray
    method: str
    fallback: str | None = None


def without_motion(labels: np.ndarray, previous: np.ndarray | None, interval_s: float, horizon_s: float,
                   method: str) -> Forecast | None:
    """What a flow-based ``method`` returns when it needs no flow or can compute none (None: it can move the labels).

    No earlier frame or one not older than this one: a fallback to ``none``.
    A horizon of zero or less: the labels as they are, by ``method``.
    """
    if previous is None:
        return Forecast(labels, "none", "no earlier source frame to compute the flow from")
    if not interval_s > 0:
        return Forecast(labels, "none", f"the earlier frame is not older than this one ({interval_s!r} s)")
    if horizon_s <= 0:
        return Forecast(labels, method)
    return None


def converted(forecaster: "Forecaster", dtype: type, labels: np.ndarray, image: np.ndarray, previous: np.ndarray,
              interval_s: float, horizon_s: float) -> Forecast:
    """``forecaster``'s forecast of ``labels`` computed in ``dtype`` (one OpenCV takes) and given back in theirs."""
    moved = forecaster(labels.astype(dtype), image, previous, interval_s, horizon_s)
    return Forecast(moved.labels.astype(labels.dtype), moved.method, moved.fallback)


class Forecaster(Protocol):
    """``(labels, image, previous, interval_s, horizon_s) -> Forecast``.

    ``labels`` is the label map computed from ``image`` (I_t); ``previous`` is
    the source frame captured ``interval_s`` seconds before it (None when there
    is none); ``horizon_s`` is how long after I_t's capture the labels are used.
    Images are uint8 BGR (or grey) of any size; the labels' size is kept.
    """

    name: str

    def __call__(self, labels: np.ndarray, image: np.ndarray, previous: np.ndarray | None, interval_s: float,
                 horizon_s: float) -> Forecast: ...  # noqa: E704


class NoForecast:
    """The labels as they are (today's behaviour, the baseline)."""

    name = "none"

    def __call__(self, labels: np.ndarray, image: np.ndarray, previous: np.ndarray | None, interval_s: float,
                 horizon_s: float) -> Forecast:
        return Forecast(labels, "none")


class ForecastCalls:
    """A forecaster applied frame after frame: the one place it is called (the real-time loop, scoring,
    timing), with its fallbacks counted.

    Args:
        forecaster: the method.

    Attributes:
        fallbacks: calls the method could not be used on (the labels came back as they were).
        fallback_reason: why, the first time (None when it never fell back).
    """

    def __init__(self, forecaster: Forecaster) -> None:
        self.forecaster = forecaster
        self.fallbacks = 0
        self.fallback_reason: str | None = None

    def __call__(self, labels: np.ndarray, image: np.ndarray, image_s: float, previous: np.ndarray | None,
                 previous_s: float, horizon_s: float) -> np.ndarray:
        """The labels computed from ``image`` (taken at ``image_s``) moved ``horizon_s`` seconds past it, with
        the flow to ``previous`` (taken at ``previous_s``; None when there is no earlier frame)."""
        interval_s = image_s - previous_s if previous is not None else 0.0
        result = self.forecaster(labels, image, previous, interval_s, horizon_s)
        if result.fallback is not None:
            self.fallbacks += 1
            self.fallback_reason = self.fallback_reason or result.fallback
        return result.labels
