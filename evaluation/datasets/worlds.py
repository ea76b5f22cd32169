"""The synthetic worlds ``flame-data synth --world`` renders: one registry, used by the data set writer,
the demo and the benchmarks alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from flame.core.choices import check_choice


@dataclass(frozen=True)
class World:
    """One synthetic world.

    Attributes:
        name: the registry key (``--world``).
        description: for help texts.
        class_names, palette: its classes and their RGB colours.
        render: ``(spec, index, split) -> (frames [F, H, W, 3] BGR, labels [F, H, W])``.
        version: bumped when its frames change (cached data sets are regenerated).
        forecast: the forecast method that models its motion (a name in ``flame.runtime.forecast.FORECASTERS``;
            the demo's forecast row uses it).
    """

    name: str
    description: str
    class_names: tuple[str, ...]
    palette: np.ndarray
    render: Callable[[Any, int, str], tuple[np.ndarray, np.ndarray]]
    version: int
    forecast: str


def _shapes() -> World:
    from flame.evaluation.datasets.synthetic_scene import CLASS_NAMES, GENERATOR_VERSION, PALETTE, render_sequence

    return World("shapes", "textured shapes sliding over a flat background (cars, pedestrians, balls)",
                 tuple(CLASS_NAMES), PALETTE, render_sequence, GENERATOR_VERSION, forecast="flow")


def _street() -> World:
    from flame.evaluation.datasets.cityscapes import CLASS_NAMES, PALETTE
    from flame.evaluation.datasets.street import STREET_VERSION, render_street_sequence

    return World("street", "a 3D street seen from a moving car, Cityscapes' 19 classes",
                 tuple(CLASS_NAMES), PALETTE, render_street_sequence, STREET_VERSION, forecast="dense")


#: World name -> its loader (imported on use).
WORLDS: dict[str, Callable[[], World]] = {"shapes": _shapes, "street": _street}


def world(name: str) -> World:
    """The world called ``name``.

    Raises:
        ConfigError: on an unknown name (the known ones listed).
    """
    return WORLDS[check_choice(name, tuple(WORLDS), "synthetic world", "world")]()
