"""Reference labels for every frame of footage, made once and kept on disk.

Unlabelled footage becomes a FLAME benchmark when a reference labels every frame: a slower, more
accurate network of the same classes run offline with no latency (a teacher, as in knowledge
distillation), or the scored engine's own zero-latency output. The labels are made once, with a
progress callback, and cached under a key of the reference and the footage, so scoring a second engine
on the same footage does not run the teacher again. The cache is built in a temporary folder and
renamed when complete: an interrupted run leaves nothing that looks like a finished cache.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from flame.core.sizes import format_size
from flame.core.errors import DataError
from flame.core.files import staging_dir
from flame.media.footage import Footage

#: ``frames [T, H, W, 3] uint8 BGR at the labeler's input size -> class ids [H, W]``.
Labeler = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[int, int], None]
LABELS_FILE = "labels.npy"
KEY_FILE = "reference.json"


@dataclass(frozen=True)
class Reference:
    """What labels the footage: the key says which network, exactly, so a cache can be trusted.

    Attributes:
        kind: ``teacher`` or ``self``.
        name: the reference engine's file (the scored engine's for ``self``).
        key: the content hash of that file (``self:`` in front for the engine's own output).
        window: frames per input of the reference.
        input_size: ``(H, W)`` it takes; its labels are stored at this size.
    """

    kind: str
    name: str
    key: str
    window: int
    input_size: tuple[int, int]

    @classmethod
    def of_engine(cls, kind: str, path: str | Path, card: Any) -> "Reference":
        """The reference an engine file with ``card`` makes: a ``teacher``, or ``self`` (the scored engine)."""
        key = file_hash(path)
        return cls(kind, str(path), ("self:" + key) if kind == "self" else key, int(card.window),
                   (int(card.input_size[0]), int(card.input_size[1])))

    def describe(self) -> str:
        """How the report names the reference."""
        if self.kind == "self":
            return (f"the engine's own zero-latency output ({self.name}): static agreement is 1 by definition, "
                    "and FLAME measures what the world changes during the engine's latency")
        return f"the teacher's labels ({self.name}), not ground truth"


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_folder(root: Path, reference: Reference, footage: Footage) -> Path:
    """The cache folder of this reference on this footage, under ``root``."""
    key = f"{reference.key}|{reference.window}|{reference.input_size}|{footage.fingerprint()}"
    return Path(root) / f"reference-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def is_cached(folder: Path) -> bool:
    """Whether ``folder`` holds a finished cache (its key file is written last)."""
    return (Path(folder) / KEY_FILE).is_file()


def reference_labels(footage: Footage, labeler: Labeler, reference: Reference, cache_root: str | Path,
                     progress: Progress | None = None) -> tuple[np.ndarray, Path, bool]:
    """The reference's labels of every frame of ``footage``, ``uint8 [N, H, W]`` at its input size.

    Args:
        footage: the frames.
        labeler: runs the reference on one window (called once per frame, only when not cached).
        reference: which network labels, for the cache key.
        cache_root: the folder the cache lives in.
        progress: ``(done, total)`` after each labelled frame.

    Returns:
        The labels (memory-mapped from the cache), the cache folder, and whether it was reused.

    Raises:
        DataError: when the reference returns labels of another size than its input.
    """
    folder = cache_folder(Path(cache_root), reference, footage)
    if is_cached(folder):
        return np.load(folder / LABELS_FILE, mmap_mode="r"), folder, True
    total = len(footage)
    height, width = reference.input_size
    staging = staging_dir(folder.parent, folder.name)
    try:
        labels = np.lib.format.open_memmap(staging / LABELS_FILE, mode="w+", dtype=np.uint8,
                                           shape=(total, height, width))
        history: deque[np.ndarray] = deque(maxlen=reference.window)
        for index, frame in enumerate(footage.frames()):
            if index >= total:
                break
            history.append(cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR))
            while len(history) < reference.window:  # the first frames: the oldest repeated, as flame-run pads
                history.appendleft(history[0])
            out = np.asarray(labeler(np.stack(history)))
            if out.shape != (height, width):
                raise DataError(f"reference {reference.name} returned labels of shape {out.shape} for an input of "
                                f"{format_size((height, width))}; expected class ids of the input's size")
            labels[index] = out
            if progress is not None:
                progress(index + 1, total)
        labels.flush()
        del labels
        info = {"reference": reference.__dict__ | {"input_size": list(reference.input_size)},
                "footage": footage.describe(), "frames": total}
        (staging / KEY_FILE).write_text(json.dumps(info, indent=2) + "\n")
        if folder.exists():  # another run finished the same cache meanwhile
            shutil.rmtree(staging)
        else:
            staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return np.load(folder / LABELS_FILE, mmap_mode="r"), folder, False
