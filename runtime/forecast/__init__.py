"""Forecasters: move a label map to the moment it is used (latency compensation).

A segmenter's labels for frame I_t are used ``horizon`` seconds after I_t was
captured (its own latency, plus transport). A forecaster takes

    (labels from I_t, I_t, the source frame before it, the time between the two, horizon)

and returns the labels expected at ``t + horizon``. Its cost is part of the
deployed path: ``flame-run`` measures latency to the forecast labels.

Methods (the registry :data:`FORECASTERS`, which every command reads):

* ``none``: the labels as they are (the baseline).
* ``flow``: dense optical flow from I_t back to the frame before it (OpenCV DIS
  or Farneback, at a reduced working width), read as a constant velocity and
  extrapolated to the horizon. *Thing* classes (cars, people, ...) are moved
  segment by segment: each connected segment by the median flow inside it,
  refined by matching the segment's colour pixels in the earlier frame, so an
  object moves whole into pixels whose own flow is the background's (a
  per-pixel backward warp cannot do that). The background moves on its own, as
  one affine camera motion fitted robustly to its flow (per-pixel flow is noise
  on textureless ground and smears the objects' motion around them). Pixels a
  moving object uncovers get the background label nearest to them, as if the
  background continued behind the object; segments are painted far to near
  (by their lowest row: in a street scene lower is nearer).

* ``dense``: every pixel moved by its own optical flow (DIS), at constant
  velocity: a camera moving through a scene, where the scene expands from the
  focus of expansion with parallax and no rigid segment or single background
  motion fits (see :mod:`flame.runtime.forecast.dense`).

The per-frame path stays light: flow, segments and matching run at the
working size; only the final warp and paste touch the full-size labels.
"""

from __future__ import annotations

from typing import Callable, Sequence

from flame.core.errors import ConfigError
from flame.runtime.forecast.base import THING_NAMES, Forecast, ForecastCalls, Forecaster, NoForecast, thing_classes
from flame.runtime.forecast.dense import DenseFlowForecast
from flame.runtime.forecast.flow import FLOWS, FlowForecast

__all__ = ["DenseFlowForecast", "FLOWS", "FORECASTERS", "Forecast", "ForecastCalls", "Forecaster", "FlowForecast",
           "NoForecast", "THING_NAMES", "make_forecaster", "thing_classes"]

#: The forecasting methods: name -> factory taking the method's options.
FORECASTERS: dict[str, Callable[..., Forecaster]] = {
    "none": lambda **_: NoForecast(),
    "flow": FlowForecast,
    "dense": DenseFlowForecast,
}


def make_forecaster(name: str, class_names: Sequence[str] = (), **options) -> Forecaster:
    """A forecaster by name, its thing classes taken from ``class_names`` when not given.

    Raises:
        ConfigError: on an unknown method or option value.
    """
    if name not in FORECASTERS:
        raise ConfigError(f"unknown forecast method {name!r}; choose one of {', '.join(FORECASTERS)}")
    if name == "flow" and "things" not in options:
        options["things"] = thing_classes(class_names)
    return FORECASTERS[name](**options)
