"""Sequence data sets: the protocol and the Cityscapes, folder and synthetic readers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

from flame.core.errors import ConfigError, param
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



@dataclass(frozen=True)
class DatasetKind:
    """One kind of data set in the registry.

    Attributes:
        name: the registry key (``--dataset``).
        description: what it reads, for help texts.
        open: ``(root or None, split, synthetic spec or None) -> data set``.
        needs_root: whether it must be given a folder (the synthetic video is generated without one).
    """

    name: str
    description: str
    open: Callable[[str | os.PathLike | None, str, SyntheticSpec | None], SequenceDataset]
    needs_root: bool = True


def _open_synthetic(root, split: str, spec: SyntheticSpec | None) -> SequenceDataset:
    # A folder written by flame-data synth, or the generated (cached) video.
    return load_folder(root, split) if root else load_synthetic(split, spec)


DATASETS: dict[str, DatasetKind] = {k.name: k for k in (
    DatasetKind("synthetic", "the embedded synthetic video (generated, or a folder from flame-data synth)",
                _open_synthetic, needs_root=False),
    DatasetKind("cityscapes", "Cityscapes (leftImg8bit_sequence/, gtFine/)",
                lambda root, split, spec: load_cityscapes(root, split)),
    DatasetKind("folder", "<root>/<sequence>/frames|labels with meta.json",
                lambda root, split, spec: load_folder(root, split)),
)}
DATASET_KINDS = tuple(DATASETS)

__all__ = [
    "ArraySequence", "DATASET_KINDS", "DatasetKind", "DATASETS", "default_palette", "ensure_synthetic",
    "label_ids_to_train_ids", "load_cityscapes", "load_folder", "load_synthetic", "open_dataset", "render_sequence",
    "Sequence", "SequenceDataset", "SyntheticSpec", "VOID", "write_synthetic",
]


def open_dataset(kind: str, root: str | os.PathLike | None = None, split: str = "val",
                 fps: float | None = None, synthetic: SyntheticSpec | None = None) -> SequenceDataset:
    """Open a data set by kind.

    Args:
        kind: a name of :data:`DATASETS` (``synthetic``, ``cityscapes`` or ``folder``).
        root: data root (required for cityscapes and folder; for synthetic, a
            folder written by ``flame-data synth`` may be given instead of the cache).
        split: split to open (``val`` by default).
        fps: frame rate override.
        synthetic: parameters of the generated set when ``kind`` is synthetic.

    Raises:
        ConfigError: on an unknown kind or a missing root.
        DataError: on a malformed data set.
    """
    entry = DATASETS.get(kind)
    if entry is None:
        raise ConfigError(f"unknown data set kind {kind!r}; expected one of {', '.join(DATASET_KINDS)}")
    if entry.needs_root and root is None:
        raise ConfigError(f"{param('dataset')} {kind} needs {param('data_root')} pointing at the data set folder")
    return entry.open(root, split, synthetic).with_fps(fps)
