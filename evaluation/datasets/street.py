"""The street world as a synthetic data set: one sequence is one drive, rendered at the spec's size and fps.

Frame i shows the world at t = i / fps (to the microsecond, so that frame 2 at 60 fps is frame 1 at 30 fps
exactly): the frame rate decides where the drive is sampled, never what happens in it.
"""

from __future__ import annotations

import numpy as np

from flame.evaluation.datasets.street_render import StreetCamera, render_frame
from flame.evaluation.datasets.street_scene import StreetScene

#: Bumped whenever the street's frames or labels change (cached data sets are regenerated).
STREET_VERSION = 1
_SPLIT_CODE = {"train": 1, "val": 2, "test": 3}


def frame_time(index: int, fps: float) -> float:
    """The time of frame ``index`` at ``fps``, rounded to the microsecond."""
    return round(index * 1_000_000 / fps) / 1_000_000


def street_scene(seed: int, index: int, split: str, duration: float) -> tuple[StreetScene, int]:
    """The drive of one sequence and its texture seed, from the master seed, the split and the index."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_CODE.get(split, 9), index, 7]))
    scene = StreetScene(rng, duration)
    return scene, int(rng.integers(0, 2**31))


def render_street_sequence(spec, index: int, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Render one drive: ``(frames, labels)``, uint8 ``[F, H, W, 3]`` BGR and uint8 ``[F, H, W]`` train ids."""
    spec.validate()
    scene, texture = street_scene(spec.seed, index, split, spec.frames / spec.fps + 1.0)
    camera = StreetCamera(tuple(spec.size))
    height, width = spec.size
    frames = np.empty((spec.frames, height, width, 3), np.uint8)
    labels = np.empty((spec.frames, height, width), np.uint8)
    for f in range(spec.frames):
        frames[f], labels[f] = render_frame(scene, camera, frame_time(f, spec.fps), texture)
    return frames, labels
