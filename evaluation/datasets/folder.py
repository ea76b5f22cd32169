"""Generic folder layout for any video data set.

::

    <root>/meta.json                      {"fps": 30, "classes": [...], "ignore_index": 255, "palette": [[r,g,b], ...]}
    <root>/<sequence>/frames/<stem>.png   (or .jpg), every frame
    <root>/<sequence>/labels/<stem>.png   train ids, any subset of the frames

Frames are ordered by natural sort of their stems. Labels whose value is
``ignore_index`` become 255 (void). A root may also hold split folders
(``<root>/train``, ``<root>/val``), each in the layout above; see
:func:`resolve_split`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from flame.core.errors import DataError, param
from flame.evaluation.datasets.base import (
    VOID,
    Sequence,
    SequenceDataset,
    check_names,
    read_image,
    read_label_png,
)
from flame.core.offsets import check_fps
from flame.core.order import natural_key

_FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")
META = "meta.json"


class FolderSequence(Sequence):
    """One ``<root>/<sequence>`` folder."""

    def __init__(self, path: Path, fps: float, num_classes: int, ignore_index: int) -> None:
        frames_dir = path / "frames"
        if not frames_dir.is_dir():
            raise DataError(f"sequence folder {path} has no frames/ folder: expected {frames_dir}")
        files = [p for p in frames_dir.iterdir() if p.suffix.lower() in _FRAME_SUFFIXES]
        if not files:
            raise DataError(f"{frames_dir} holds no .png or .jpg frames")
        files.sort(key=lambda p: natural_key(p.stem))
        self.name = path.name
        self.fps = fps
        self.num_frames = len(files)
        self._frames = files
        self._stems = [p.stem for p in files]
        index_of = {stem: i for i, stem in enumerate(self._stems)}
        self._labels: dict[int, Path] = {}
        labels_dir = path / "labels"
        if labels_dir.is_dir():
            for label in labels_dir.glob("*.png"):
                if label.stem not in index_of:
                    raise DataError(
                        f"label {label} has no frame {label.stem}.png/.jpg in {frames_dir}: "
                        "label stems must match frame stems"
                    )
                self._labels[index_of[label.stem]] = label
        self.annotated = sorted(self._labels)
        self._num_classes = num_classes
        self._ignore = ignore_index

    def frame_stem(self, index: int) -> str:
        return self._stems[index]

    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        return read_image(str(self._frames[index]))

    def label(self, index: int) -> np.ndarray:
        if index not in self._labels:
            raise DataError(f"sequence {self.name}: frame {self._stems[index]} has no label map")
        path = self._labels[index]
        label = read_label_png(str(path))
        void = label == self._ignore
        bad = ~void & (label >= self._num_classes)
        if bad.any():
            raise DataError(
                f"{path}: label value {int(label[bad].flat[0])} is neither a class "
                f"(0..{self._num_classes - 1}) nor void ({self._ignore}); check meta.json's classes"
            )
        out = label.astype(np.uint8)
        out[void] = VOID
        return out


def read_meta(root: Path) -> dict:
    """Read and validate ``meta.json``.

    Raises:
        DataError: when it is missing, not JSON, or lacks fps/classes.
    """
    path = root / META
    if not path.is_file():
        raise DataError(
            f"no {META} in {root}: expected a file like "
            '{"fps": 30, "classes": ["road", "car"]} next to the sequence folders'
        )
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or "fps" not in meta or "classes" not in meta:
        raise DataError(f"{path}: expected an object with 'fps' and 'classes', found keys {sorted(meta) if isinstance(meta, dict) else type(meta).__name__}")
    classes = meta["classes"]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise DataError(f"{path}: 'classes' must be a non-empty list of class names")
    try:
        check_fps(meta["fps"])
    except Exception as exc:
        raise DataError(f"{path}: 'fps' must be a positive number, found {meta['fps']!r}") from exc
    return meta


def resolve_split(root: str | os.PathLike, split: str | None) -> Path:
    """The folder that holds a split: ``<root>/<split>`` when it exists, else ``<root>``.

    Raises:
        DataError: when the chosen folder does not exist.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data root {root} does not exist or is not a folder; check {param('data_root')}")
    if split and (root / split).is_dir():
        return root / split
    return root


def load_folder(root: str | os.PathLike, split: str | None = None) -> SequenceDataset:
    """Open a data set in the generic folder layout.

    Args:
        root: the data set folder (or a folder of split folders).
        split: split folder to use when ``<root>/<split>`` exists.

    Raises:
        DataError: on a missing or malformed layout or an empty data set.
    """
    folder = resolve_split(root, split)
    meta = read_meta(folder if (folder / META).is_file() else Path(root))
    classes = list(meta["classes"])
    ignore_index = int(meta.get("ignore_index", VOID))
    palette = check_names(classes, np.asarray(meta["palette"]) if "palette" in meta else None)
    fps = float(meta["fps"])
    sequence_dirs = sorted((p for p in folder.iterdir() if p.is_dir() and (p / "frames").is_dir()),
                           key=lambda p: natural_key(p.name))
    if not sequence_dirs:
        raise DataError(
            f"{folder} holds no sequence folders: expected <sequence>/frames/*.png beside {META}"
        )
    sequences: list[Sequence] = [FolderSequence(p, fps, len(classes), ignore_index) for p in sequence_dirs]
    return SequenceDataset(str(folder), classes, palette, sequences, fps, VOID, {"meta": meta})
