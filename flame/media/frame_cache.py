"""Footage decoded once into an array on disk, for random access (training draws frames in any order).

A bag or video can only be read forward; a training run asks for random windows thousands of times. The
frames are decoded once, resized to the size the network takes, into a memory-mapped ``.npy`` keyed by
the footage's fingerprint and the size; built under a temporary name and renamed when complete.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from flame.core.files import atomic_path
from flame.media.footage import Footage


def decoded_frames(footage: Footage, size: tuple[int, int], cache_root: str | os.PathLike,
                   progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Every frame of ``footage`` resized to ``size`` (H, W), ``uint8 [N, H, W, 3]`` BGR, memory-mapped."""
    height, width = size
    key = hashlib.sha256(f"{footage.fingerprint()}|{height}x{width}".encode()).hexdigest()[:12]
    path = Path(cache_root) / f"frames-{key}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    total = len(footage)
    with atomic_path(path) as tmp:
        frames = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(total, height, width, 3))
        for index, frame in enumerate(footage.frames()):
            if index >= total:
                break
            frames[index] = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            if progress is not None:
                progress(index + 1, total)
        frames.flush()
        del frames
    return np.load(path, mmap_mode="r")
