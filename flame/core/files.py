"""Atomic file writing: a reader never sees a half-written file."""

from __future__ import annotations

import contextlib
import json
import math
import os
import uuid
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception (Ctrl-C included) the temporary file is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    # os.open with 0o666 lets the umask decide the mode, as a plain open() would
    # (mkstemp would leave every output readable by its owner only).
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def staging_dir(parent: str | os.PathLike, name: str) -> Path:
    """Create a new, uniquely named folder in ``parent`` to build ``name`` in before renaming it.

    Unlike ``tempfile.mkdtemp`` (always mode 0700) the umask decides its mode,
    so the renamed result is readable like any folder the user makes.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    path = parent / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    path.mkdir()
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write JSON (indented, NaN and infinities as null) atomically; returns the path."""
    return write_text(path, json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as Python numbers and lists, NaN and ±inf as None.

    JSON has no NaN or infinity; a report's undefined figure (an IoU of a class
    never seen, a statistic of no samples) is written as null. Dicts, lists and
    tuples are cleaned recursively (tuples become lists, as JSON would).
    """
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def disk_bytes(folder: str | os.PathLike) -> int:
    """Bytes the regular files under ``folder`` take (links not followed), to tell users what a run costs."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())
