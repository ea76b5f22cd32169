"""An image folder as footage: natural name order, times ``i / fps``."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from flame.core.errors import SourceError
from flame.core.order import natural_key
from flame.media.footage import Footage

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: A folder has no times of its own; a camera's common rate when none is given.
DEFAULT_FPS = 30.0


class FolderFootage(Footage):
    """The images of one folder (other files ignored; images that do not decode skipped)."""

    kind = "frames"

    def __init__(self, path: Path, fps: float | None = None) -> None:
        super().__init__(path)
        if not self.path.is_dir():
            raise SourceError(f"frames {self.path} is not a folder of images")
        self.fps = fps or DEFAULT_FPS
        self._files: list[Path] = []
        files = sorted((p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                       key=lambda p: natural_key(p.name))
        if not files:
            raise SourceError(f"frames {self.path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        self._candidates = files
        self._time_source = f"--fps {self.fps:g}" if fps else f"an assumed {DEFAULT_FPS:g} fps (give --fps)"

    def _scan(self) -> np.ndarray:
        for file in self._candidates:
            # A header check is not enough for a truncated file: decode it.
            if cv2.imread(str(file), cv2.IMREAD_COLOR) is None:
                self._skipped += 1
            else:
                self._files.append(file)
        # Frame i was captured at i / fps, counted over every file: a damaged one leaves a gap.
        kept = {file: index for index, file in enumerate(self._candidates)}
        return np.array([kept[file] / self.fps for file in self._files])

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        self.timestamps()
        for file in self._files[start:]:
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                raise SourceError(f"image {file} could be read before and cannot now; was the folder changed?")
            yield image
