"""Natural sort order: ``frame2`` before ``frame10``, one rule for every folder FLAME reads.

Data set readers (``flame.evaluation``) and image-folder sources
(``flame.runtime``) must order the same folder the same way, or a prediction
would be paired with the wrong frame; so both use this one key.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key: digit runs compare as numbers, letters case-insensitively, ties by the exact name.

    ``re.split`` with a capturing group puts text at even and digits at odd
    positions, so two keys never compare a number with a string.
    """
    parts = tuple(int(tok) if i % 2 else tok.lower() for i, tok in enumerate(_DIGITS.split(name)))
    return (parts, name)
