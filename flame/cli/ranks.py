"""Who reports a failure when a command runs as several processes under ``torchrun``.

A bad option fails on every rank at once, and a rank that fails while the
others wait in a collective makes them fail too (gloo "Connection reset by
peer", then torchrun's SIGTERM). So the first rank that fails claims the
failure: it prints its one line and writes it to torchrun's error file (so the
launcher's summary shows it as the root cause); every other rank then leaves
quietly with the same exit status. Outside ``torchrun`` every failure is the
process's own.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def distributed() -> bool:
    """Whether this process is one of several started by ``torchrun``."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def _marker() -> Path | None:
    # torchrun gives each worker an error file under a folder of this launch and attempt
    # (.../attempt_N/<local rank>/error.json): the attempt folder is shared by the ranks here.
    error_file = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if error_file:
        return Path(error_file).parent.parent / "flame-first-failure"
    return None


def is_rank_zero() -> bool:
    """Whether this process is rank 0 (``RANK`` unset or empty counts as 0: a plain single process)."""
    return int(os.environ.get("RANK", "0") or 0) == 0


def claim(status: int, line: str) -> bool:
    """Claim this failure for this process; True when it is the first and should print ``line``.

    Args:
        status: the exit status the run ends with.
        line: the one line the failure prints (also written to torchrun's error file).
    """
    if not distributed():
        return True
    marker = _marker()
    if marker is None:  # launched some other way: rank 0 speaks
        return is_rank_zero()
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    except OSError:
        return is_rank_zero()
    with os.fdopen(fd, "w") as handle:
        handle.write(str(status))
    error_file = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if error_file:
        try:
            # The layout torchrun's own @record writes; its summary prints py_callstack as the root cause.
            Path(error_file).write_text(json.dumps({"message": {
                "message": line, "extraInfo": {"py_callstack": line, "timestamp": str(int(time.time()))}}}))
        except OSError:
            pass
    return True


def failed_elsewhere(wait_s: float = 0.0) -> int | None:
    """The exit status another rank's failure claimed, or None when none has (or not distributed).

    Args:
        wait_s: how long to wait for a claim (a collective breaks as soon as the failing rank
            leaves its process group, a moment before that rank claims the failure).
    """
    marker = _marker() if distributed() else None
    if marker is None:
        return None
    deadline = time.monotonic() + wait_s
    while True:
        try:
            text = marker.read_text().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)
