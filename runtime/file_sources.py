"""Video files, image folders and frames from Python as sources (docs/architecture.md, "Source").

Each is a :class:`~flame.runtime.file_reader.FileSource`: a reader thread
decodes ahead, and frames are delivered offline (every frame) or paced in real
time (see :mod:`flame.runtime.file_reader`). The container's frame count is
never trusted: files are read until they end.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from flame.core.errors import ConfigError, SourceError, param
from flame.core.order import natural_key
from flame.media.folder import IMAGE_SUFFIXES  # one list for every folder FLAME reads
from flame.runtime.file_reader import FileSource
from flame.runtime.source_base import (ASSUMED_FPS, OPEN_TIMEOUT_S, Clock, Sleep, as_bgr_image, call_with_deadline,
                                       require_fps, valid_fps)

# A damaged stretch of a video makes a few reads fail before good frames follow;
# this many failures in a row mean the end (a clean end costs these few reads).
_MAX_BAD_READS = 8
# Containers without a frame index estimate their count from the duration: a video this close
# to the count it announced ended where it should.
_COUNT_SLACK_FRAMES, _COUNT_SLACK_SHARE = 2, 0.01


class VideoSource(FileSource):
    """A video file read with OpenCV until it ends (container frame counts are ignored).

    Args:
        path: the video file.
        fps: override the container's frame rate.
        realtime: pace at the fps and drop frames the loop cannot keep up with.
        clock: monotonic clock in ns (``perf_counter_ns``); tests inject a virtual one.
        sleep: how to wait for a frame to arrive (``time.sleep``).
        open_timeout_s: deadline for opening and decoding the first frame.

    Raises:
        SourceError: when the file is missing, not a video, or has no decodable frame.
        ConfigError: on a non-positive ``fps``.
    """

    kind = "video"

    def __init__(self, path: str | os.PathLike, fps: float | None = None, realtime: bool = False,
                 clock: Clock | None = None, sleep: Sleep | None = None,
                 open_timeout_s: float = OPEN_TIMEOUT_S) -> None:
        self.path = Path(path)
        require_fps(fps)
        if not self.path.exists():
            raise SourceError(f"video {self.path} does not exist")
        if not self.path.is_file():
            raise SourceError(f"video {self.path} is not a file")
        self._cap: Any = None
        cap, first = call_with_deadline(self._open, open_timeout_s, f"opening video {self.path}")
        container = valid_fps(cap.get(cv2.CAP_PROP_FPS))
        chosen = fps or container or ASSUMED_FPS
        super().__init__(chosen, "option" if fps else "container" if container else "assumed", realtime,
                         clock, sleep)
        self._cap = cap
        self._next_index = 1
        self._first = (0, first)
        self.size = (int(first.shape[0]), int(first.shape[1]))
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        #: Frames the container's header announces (None when it does not say); never trusted for reading.
        self.frames_announced: int | None = int(count) if math.isfinite(count) and count >= 1 else None

    @property
    def frames_read(self) -> int:
        """Frames of the file's timeline read so far (damaged ones included)."""
        return self._next_index

    def _end_reason(self) -> str:
        # A file cut short (a copy interrupted, a recorder that died) still has its header's count.
        announced, read = self.frames_announced, self._next_index
        if announced is not None and announced - read > max(_COUNT_SLACK_FRAMES, _COUNT_SLACK_SHARE * announced):
            return f"the video ended after {read} of the {announced} frames its header announced"
        return "end of source"

    def _open(self) -> tuple[Any, np.ndarray]:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(OPEN_TIMEOUT_S * 1000)]
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_ANY, params)
        if not cap.isOpened():
            raise SourceError(f"cannot open {self.path} as a video (not a video file, damaged beyond reading, "
                              "or a codec this OpenCV lacks)")
        for _ in range(_MAX_BAD_READS):
            ok, image = cap.read()
            image = as_bgr_image(image) if ok else None
            if image is not None:
                return cap, image
        cap.release()
        raise SourceError(f"{self.path} opened as a video but no frame could be decoded")

    def _read_next(self) -> tuple[int, np.ndarray] | None:
        for failures in range(_MAX_BAD_READS):
            ok, image = self._cap.read()
            image = as_bgr_image(image) if ok else None
            if image is not None:
                # Failed reads followed by a good frame were damaged frames: keep the timeline.
                index = self._next_index + failures
                self.damaged += failures
                self._next_index = index + 1
                return index, image
        return None

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _where(self) -> str:
        return f"video {self.path}"

    def describe(self) -> dict[str, Any]:
        """See :meth:`Source.describe`; adds the path, damaged frames, frames read and announced."""
        return {**super().describe(), "path": str(self.path), "damaged_frames": self.damaged,
                "frames_read": self._next_index, "frames_announced": self.frames_announced}


class FolderSource(FileSource):
    """A folder of images (png, jpg, ...) in natural name order, as a video.

    Args:
        path: the folder.
        fps: its frame rate (30 assumed when None).
        realtime, clock, sleep: as for :class:`VideoSource`.

    Raises:
        SourceError: when the folder is missing, holds no image, or its first images are unreadable.
        ConfigError: on a non-positive ``fps``.
    """

    kind = "frames"

    def __init__(self, path: str | os.PathLike, fps: float | None = None, realtime: bool = False,
                 clock: Clock | None = None, sleep: Sleep | None = None) -> None:
        self.path = Path(path)
        require_fps(fps)
        if not self.path.is_dir():
            raise SourceError(f"frame folder {self.path} does not exist" if not self.path.exists()
                              else f"{self.path} is not a folder")
        files = sorted((p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                       key=lambda p: natural_key(p.name))
        if not files:
            raise SourceError(f"frame folder {self.path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        super().__init__(fps or ASSUMED_FPS, "option" if fps else "assumed", realtime, clock, sleep)
        self.files = files
        self._cursor = 0
        # Validate now, so a folder of junk fails at open, not mid-run.
        for _ in range(min(len(files), _MAX_BAD_READS)):
            item = self._read_next()
            if item is not None:
                self._first = item
                self.size = (int(item[1].shape[0]), int(item[1].shape[1]))
                break
        else:
            raise SourceError(f"none of the first images in {self.path} could be read (e.g. {files[0].name})")

    def _read_next(self) -> tuple[int, np.ndarray] | None:
        while self._cursor < len(self.files):
            index = self._cursor
            self._cursor += 1
            image = as_bgr_image(cv2.imread(str(self.files[index]), cv2.IMREAD_UNCHANGED))
            if image is not None:
                return index, image
            self.damaged += 1
        return None

    def _where(self) -> str:
        return f"frame folder {self.path}"

    def describe(self) -> dict[str, Any]:
        """See :meth:`Source.describe`; adds the path, file and unreadable counts."""
        return {**super().describe(), "path": str(self.path), "files": len(self.files),
                "unreadable_files": self.damaged}


class ArraySource(FileSource):
    """Frames produced by Python code (a data set's frames, arrays in memory), as a video.

    Goes through the same reader thread, ring and pacing as a folder of
    images, so a loop fed by it measures what ``flame-run --frames`` would.

    Args:
        frames: an iterable of uint8 ``[H, W, 3]`` BGR images (read lazily).
        fps: their frame rate.
        name: how reports and errors name the source.
        realtime, clock, sleep: as for :class:`VideoSource`.

    Raises:
        SourceError: when the iterable yields no frame or the first is not an image.
        ConfigError: on a non-positive ``fps``.
    """

    kind = "frames"

    def __init__(self, frames: Iterable[np.ndarray], fps: float, name: str = "memory", realtime: bool = False,
                 clock: Clock | None = None, sleep: Sleep | None = None) -> None:
        if fps is None:
            raise ConfigError(f"an array source needs its frame rate ({param('fps')})")
        require_fps(fps)
        super().__init__(fps, "option", realtime, clock, sleep)
        self.name = name
        self._frames = iter(frames)
        self._cursor = 0
        first = self._read_next()
        if first is None:
            raise SourceError(f"{name} holds no frames")
        self._first = first
        self.size = (int(first[1].shape[0]), int(first[1].shape[1]))

    def _read_next(self) -> tuple[int, np.ndarray] | None:
        image = next(self._frames, None)
        if image is None:
            return None
        converted = as_bgr_image(image)
        if converted is None:
            raise SourceError(f"{self.name}: frame {self._cursor} is not an image (shape "
                              f"{getattr(image, 'shape', None)}, dtype {getattr(image, 'dtype', None)})")
        index = self._cursor
        self._cursor += 1
        return index, converted

    def _where(self) -> str:
        return self.name

    def describe(self) -> dict[str, Any]:
        """See :meth:`Source.describe`; adds the source's name."""
        return {**super().describe(), "name": self.name}
