"""The class names and colours of a foreign model: a named label set, a file, or the binary pair."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from flame.core.errors import ConfigError, param

#: The class names of a model with one score channel, unless ``classes`` names them.
BINARY_CLASSES = ("background", "foreground")
#: What ``classes`` accepts besides a file: a named label set.
NAMED_CLASSES = ("cityscapes",)

def read_classes(spec: str | os.PathLike | None, count: int | None) -> tuple[list[str], np.ndarray | None]:
    """Class names (and the named set's palette) from ``cityscapes`` or a file with one name per line.

    Args:
        spec: ``cityscapes``, a file path, or None (``class_0``... for ``count`` classes).
        count: the model's output channels, when known, to check against.

    Raises:
        ConfigError: when the file is missing or empty, or the count differs from the model's.
    """
    palette = None
    if spec is None:
        if count is None:
            raise ConfigError(f"the model outputs class ids, so its class count is unknown: give its {param('classes')} "
                              "(cityscapes, or a file with one class name per line)")
        return [f"class_{i}" for i in range(count)], None
    if str(spec) in NAMED_CLASSES:
        from flame.evaluation.datasets.cityscapes import CLASS_NAMES, PALETTE

        names, palette = list(CLASS_NAMES), PALETTE.copy()
        source = "the cityscapes label set"
    else:
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(f"class file {path} does not exist (give cityscapes or a file with one class name "
                              "per line)", parameter="classes")
        names = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
        if not names:
            raise ConfigError(f"class file {path} names no class", parameter="classes")
        source = f"{path}"
    if count is not None and len(names) != count:
        raise ConfigError(f"{source} has {len(names)} classes but the model outputs {count} channels ({param('classes')})")
    if len(names) > 255:
        raise ConfigError(f"uint8 label maps hold at most 255 classes, {source} has {len(names)}", parameter="classes")
    return names, palette


def read_palette(path: str | os.PathLike, count: int) -> np.ndarray:
    """A palette file: one ``R,G,B`` (or ``R G B``) line per class, values 0..255.

    Raises:
        ConfigError: when the file is missing, malformed or has another count of colours.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"palette file {path} does not exist", parameter="palette")
    colours = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.replace(",", " ").split()
        try:
            colour = [int(p) for p in parts]
        except ValueError:
            colour = []
        if len(colour) != 3 or min(colour) < 0 or max(colour) > 255:
            raise ConfigError(f"{path} line {number}: expected R,G,B with values 0..255, found {line.strip()!r}",
                              parameter="palette")
        colours.append(colour)
    if len(colours) != count:
        raise ConfigError(f"{path} has {len(colours)} colours for {count} classes", parameter="palette")
    return np.asarray(colours, np.uint8)
