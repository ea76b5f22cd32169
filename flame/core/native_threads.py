"""Threads that wait in native calls which cannot be interrupted (OpenCV capture, FFmpeg).

When a Python daemon thread comes back from native code while the interpreter
is shutting down, CPython ends it with ``pthread_exit``; inside a C++ library
that unwinding reaches ``std::terminate`` ("terminate called without an active
exception", exit status 134). So sources start such threads here, wait for them
when they stop, and a process that still has one inside a driver when it ends
leaves with :func:`exit_now` (streams flushed, no interpreter shutdown) instead of
``sys.exit``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from typing import Callable, Iterable, NoReturn

_threads: "weakref.WeakSet[threading.Thread]" = weakref.WeakSet()
_lock = threading.Lock()


def start(target: Callable[[], object], name: str) -> threading.Thread:
    """Start ``target`` in a daemon thread that is tracked until it returns.

    Args:
        target: the thread's function.
        name: the thread's name (shows in debuggers).

    Returns:
        The started thread.
    """
    thread = threading.Thread(target=target, name=name, daemon=True)
    with _lock:
        _threads.add(thread)
    thread.start()
    return thread


def busy(exclude: Iterable[threading.Thread] = ()) -> list[threading.Thread]:
    """Tracked threads that are still running (possibly inside a native call), except ``exclude``."""
    skip = set(exclude)
    with _lock:
        return [t for t in _threads if t.is_alive() and t not in skip]


def wait(timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for every tracked thread to return.

    Returns:
        True when none is left running.
    """
    deadline = time.monotonic() + max(0.0, timeout_s)
    for thread in busy():
        thread.join(max(0.0, deadline - time.monotonic()))
    return not busy()


def exit_now(status: int, exclude: Iterable[threading.Thread] = ()) -> NoReturn:
    """End the process with ``status``, skipping interpreter shutdown when a tracked thread still runs.

    Everything the process must leave behind (reports, videos, checkpoints) has
    to be written before this is called: with a thread still in a driver, atexit
    handlers and finalizers are skipped, since shutting down would abort.

    Args:
        status: the exit status.
        exclude: threads that do not count (started before the caller's work began).
    """
    if not busy(exclude):
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)
