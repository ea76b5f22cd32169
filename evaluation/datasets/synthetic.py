"""The synthetic data set on disk: written in the folder layout, cached, loaded.

What its frames show (cars, pedestrians, balls over a textured background)
and how a sequence is rendered are in :mod:`flame.evaluation.datasets.synthetic_scene`;
the names are re-exported here.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2

from flame.core.errors import ConfigError, param
from flame.core.files import staging_dir
from flame.evaluation.datasets.base import SequenceDataset
from flame.evaluation.datasets.synthetic_scene import (
    CLASS_NAMES,
    GENERATOR_VERSION,
    PALETTE,
    SyntheticSpec,
    render_sequence,
    spec_record,
)
from flame.evaluation.datasets.worlds import world

__all__ = ["CLASS_NAMES", "GENERATOR_VERSION", "PALETTE", "SyntheticSpec", "cache_root", "ensure_synthetic",
           "load_synthetic", "render_sequence", "write_synthetic"]


def write_synthetic(spec: SyntheticSpec, out: str | os.PathLike, progress=None) -> Path:
    """Write a synthetic data set in the folder layout, ``train/`` and ``val/``.

    Written into a temporary folder beside ``out`` and renamed, so an
    interrupted run leaves nothing half-written.

    Args:
        spec: data set parameters.
        out: destination folder (must not exist, or be empty).
        progress: optional callable ``(done, total)`` called after each sequence.

    Returns:
        The destination folder.

    Raises:
        ConfigError: when ``out`` exists and is not empty.
    """
    spec.validate()
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"output folder {out} exists and is not empty; choose a new {param('out')}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_dir(out.parent, out.name)
    try:
        jobs = [("train", i) for i in range(spec.sequences)] + [("val", i) for i in range(spec.val_sequences)]
        chosen = world(spec.world)
        meta = {
            "fps": spec.fps,
            "classes": list(chosen.class_names),
            "palette": chosen.palette.tolist(),
            "ignore_index": 255,
            "synthetic": spec_record(spec),
        }
        for split in ("train", "val"):
            (tmp / split).mkdir()
            (tmp / split / "meta.json").write_text(json.dumps(meta, indent=2))
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
        for done, (split, index) in enumerate(jobs, 1):
            frames, labels = chosen.render(spec, index, split)
            seq_dir = tmp / split / f"seq{index:03d}"
            (seq_dir / "frames").mkdir(parents=True)
            (seq_dir / "labels").mkdir()
            for f in range(spec.frames):
                cv2.imwrite(str(seq_dir / "frames" / f"{f:06d}.png"), frames[f])
                cv2.imwrite(str(seq_dir / "labels" / f"{f:06d}.png"), labels[f])
            if progress is not None:
                progress(done, len(jobs))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def cache_root() -> Path:
    """Where generated data sets are cached: ``$FLAME_CACHE_DIR`` or ``~/.cache/flame``."""
    env = os.environ.get("FLAME_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "flame"


def ensure_synthetic(spec: SyntheticSpec | None = None, progress=None) -> Path:
    """Generate the synthetic data set into the cache once; return its folder.

    Safe when several processes (torchrun ranks) ask at the same time: each
    writes its own temporary folder and the first rename wins.
    """
    spec = (spec or SyntheticSpec()).validate()
    target = cache_root() / f"synthetic-{spec.key()}"
    if (target / "val" / "meta.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(target.parent, "stage")
    try:
        write_synthetic(spec, staging / "data", progress)
        try:
            os.replace(staging / "data", target)
        except OSError:
            if not (target / "val" / "meta.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_synthetic(split: str = "val", spec: SyntheticSpec | None = None, progress=None) -> SequenceDataset:
    """The cached synthetic data set's split, generated on first use."""
    from flame.evaluation.datasets.folder import load_folder

    root = ensure_synthetic(spec, progress)
    if split not in ("train", "val"):
        raise ConfigError(f"the synthetic data set has splits train and val, not {split!r}")
    dataset = load_folder(root, split)
    dataset.name = f"synthetic {split}"
    return dataset
