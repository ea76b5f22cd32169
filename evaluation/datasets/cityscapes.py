"""Cityscapes sequences from the official layout.

``leftImg8bit_sequence/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png``
holds every frame; ``gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png``
the sparse annotations. A sequence is a contiguous run of frame numbers of one
``<city>_<seq>``; its annotated frames are whichever gtFine files exist (the
20th frame of a 30-frame snippet in most cities, other numbers in the long
sequences of some), read from the file names, never assumed.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from flame.core.errors import DataError, param
from flame.evaluation.datasets.base import VOID, Sequence, SequenceDataset, read_image, read_label_png

DEFAULT_FPS = 17.0

#: The 19 evaluated classes in train-id order (cityscapesScripts ``labels.py``).
CLASS_NAMES = [
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
    "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
    "motorcycle", "bicycle",
]

PALETTE = np.array(
    [
        (128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
        (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
        (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
        (0, 80, 100), (0, 0, 230), (119, 11, 32),
    ],
    dtype=np.uint8,
)

#: labelId -> trainId for the 34 labelIds (0..33); 255 = void.
_LABEL_TO_TRAIN = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10,
    24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}
_NUM_LABEL_IDS = 34

_FRAME_RE = re.compile(r"^(?P<city>.+)_(?P<seq>\d{6})_(?P<frame>\d{6})_leftImg8bit\.png$")
_GT_RE = re.compile(r"^(?P<city>.+)_(?P<seq>\d{6})_(?P<frame>\d{6})_gtFine_labelIds\.png$")


def label_ids_to_train_ids(label_ids: np.ndarray, source: str = "label map") -> np.ndarray:
    """Map Cityscapes labelIds (0..33) to the 19 train ids, everything else to 255.

    Raises:
        DataError: on a value that is not a Cityscapes labelId.
    """
    if label_ids.size and (label_ids.min() < 0 or label_ids.max() >= _NUM_LABEL_IDS):
        bad = int(label_ids.max() if label_ids.max() >= _NUM_LABEL_IDS else label_ids.min())
        raise DataError(
            f"{source}: value {bad} is not a Cityscapes labelId (0..33); "
            "expected *_gtFine_labelIds.png, not trainIds or colour images"
        )
    return _LUT[label_ids.astype(np.intp)]


def _build_lut() -> np.ndarray:
    lut = np.full(_NUM_LABEL_IDS, VOID, np.uint8)
    for label_id, train_id in _LABEL_TO_TRAIN.items():
        lut[label_id] = train_id
    return lut


_LUT = _build_lut()


class CityscapesSequence(Sequence):
    """A contiguous run of frames of one Cityscapes ``<city>_<seq>``."""

    def __init__(self, city: str, seq: str, frame_numbers: list[int], frame_dir: Path,
                 gt_files: dict[int, Path], fps: float) -> None:
        self.city = city
        self.seq = seq
        self.first = frame_numbers[0]
        self.num_frames = len(frame_numbers)
        self.name = f"{city}_{seq}_{self.first:06d}"
        self.fps = fps
        self._frame_dir = frame_dir
        self._gt = {number - self.first: path for number, path in gt_files.items()}
        self.annotated = sorted(self._gt)

    def frame_number(self, index: int) -> int:
        """Cityscapes frame number of sequence index ``index``."""
        return self.first + index

    def frame_stem(self, index: int) -> str:
        return f"{self.city}_{self.seq}_{self.frame_number(index):06d}"

    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        return read_image(str(self._frame_dir / f"{self.frame_stem(index)}_leftImg8bit.png"))

    def label(self, index: int) -> np.ndarray:
        if index not in self._gt:
            raise DataError(f"sequence {self.name}: frame {index} has no gtFine annotation")
        path = self._gt[index]
        return label_ids_to_train_ids(read_label_png(str(path)), str(path))


def _runs(numbers: list[int]) -> list[list[int]]:
    """Split sorted integers into runs of consecutive values."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return runs


def load_cityscapes(root: str | os.PathLike, split: str = "val", fps: float = DEFAULT_FPS) -> SequenceDataset:
    """Open Cityscapes sequences of one split.

    Args:
        root: folder holding ``leftImg8bit_sequence/`` and ``gtFine/``.
        split: ``train``, ``val`` or ``test``.
        fps: frame rate (17 by default; the paper rounds to 60 ms).

    Returns:
        One sequence per contiguous run of frames that holds annotated frames.

    Raises:
        DataError: when the layout is missing or holds no annotated sequence.
    """
    root = Path(root)
    frames_root = root / "leftImg8bit_sequence" / split
    gt_root = root / "gtFine" / split
    for path, what in ((frames_root, "frames"), (gt_root, "annotations")):
        if not path.is_dir():
            raise DataError(
                f"Cityscapes {what} not found: expected the folder {path} "
                f"(layout leftImg8bit_sequence/<split>/<city>/ and gtFine/<split>/<city>/); check {param('data_root')} and {param('split')}"
            )
    sequences: list[Sequence] = []
    for city_dir in sorted(p for p in gt_root.iterdir() if p.is_dir()):
        gt_by_seq: dict[str, dict[int, Path]] = defaultdict(dict)
        for entry in os.scandir(city_dir):
            match = _GT_RE.match(entry.name)
            if match:
                gt_by_seq[match["seq"]][int(match["frame"])] = Path(entry.path)
        if not gt_by_seq:
            continue
        frame_dir = frames_root / city_dir.name
        if not frame_dir.is_dir():
            raise DataError(f"Cityscapes frames for city {city_dir.name} not found: expected {frame_dir}")
        frames_by_seq: dict[str, list[int]] = defaultdict(list)
        for entry in os.scandir(frame_dir):
            match = _FRAME_RE.match(entry.name)
            if match and match["seq"] in gt_by_seq:
                frames_by_seq[match["seq"]].append(int(match["frame"]))
        for seq, gts in sorted(gt_by_seq.items()):
            numbers = sorted(frames_by_seq.get(seq, []))
            for run in _runs(numbers):
                inside = {n: p for n, p in gts.items() if run[0] <= n <= run[-1]}
                if inside:
                    sequences.append(CityscapesSequence(city_dir.name, seq, run, frame_dir, inside, fps))
            orphans = [n for n in gts if n not in set(numbers)]
            if orphans:
                raise DataError(
                    f"Cityscapes annotation {city_dir.name}_{seq}_{orphans[0]:06d} has no frame in {frame_dir}: "
                    "expected leftImg8bit_sequence to hold the annotated frame and its predecessors"
                )
    dataset = SequenceDataset(f"cityscapes {split}", list(CLASS_NAMES), PALETTE.copy(), sequences, fps)
    return dataset.require_nonempty()
