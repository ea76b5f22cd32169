"""Sequence data sets: the protocol and the Cityscapes, folder and synthetic readers."""

from __future__ import annotations

import os

from flame.core.errors import ConfigError
from flame.evaluation.datasets.base import VOID, ArraySequence, Sequence, SequenceDataset, default_palette
from flame.evaluation.datasets.cityscapes import label_ids_to_train_ids, load_cityscapes
from flame.evaluation.datasets.folder import load_folder
from flame.evaluation.datasets.synthetic import (
    SyntheticSpec,
    ensure_synthetic,
    load_synthetic,
    render_sequence,
    write_synthetic,
)

DATASET_KINDS = ("synthetic", "cityscapes", "folder")

__all__ = [
    "ArraySequence", "DATASET_KINDS", "VOID", "Sequence", "SequenceDataset", "SyntheticSpec", "default_palette",
    "ensure_synthetic", "label_ids_to_train_ids", "load_cityscapes", "load_folder", "load_synthetic",
    "open_dataset", "render_sequence", "write_synthetic",
]


def open_dataset(kind: str, root: str | os.PathLike | None = None, split: str = "val",
                 fps: float | None = None, synthetic: SyntheticSpec | None = None) -> SequenceDataset:
    """Open a data set by kind.

    Args:
        kind: ``synthetic``, ``cityscapes`` or ``folder``.
        root: data root (required for cityscapes and folder; for synthetic, a
            folder written by ``flame-data synth`` may be given instead of the cache).
        split: split to open (``val`` by default).
        fps: frame rate override.
        synthetic: parameters of the generated set when ``kind`` is synthetic.

    Raises:
        ConfigError: on an unknown kind or a missing root.
        DataError: on a malformed data set.
    """
    if kind not in DATASET_KINDS:
        raise ConfigError(f"unknown data set kind {kind!r}; expected one of {', '.join(DATASET_KINDS)}")
    if kind == "synthetic":
        dataset = load_folder(root, split) if root else load_synthetic(split, synthetic)
    elif root is None:
        raise ConfigError(f"{{dataset}} {kind} needs {{data_root}} pointing at the data set folder")
    elif kind == "cityscapes":
        dataset = load_cityscapes(root, split)
    else:
        dataset = load_folder(root, split)
    return dataset.with_fps(fps)
