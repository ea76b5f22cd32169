"""Helpers shared by the commands: error handling and option parsing."""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from typing import Any, Callable, Iterator, TypeVar

import click

from flame.core import native_threads
from flame.core.errors import ConfigError, FlameError, Terminated

F = TypeVar("F", bound=Callable[..., Any])


#: Exit statuses of every command (README, "Exit statuses").
EXIT_OK, EXIT_SHORT, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`~flame.core.errors.Terminated` in the main thread.

    Terminated is a KeyboardInterrupt, so the library finishes what it must on
    SIGTERM exactly as on Ctrl-C (run reports, videos, checkpoints). Outside
    the main thread (signals cannot be caught there) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def handle_errors(func: F) -> F:
    """Run a command with the shared exit statuses.

    Library errors become one clear line on stderr and exit status 2; Ctrl-C
    exits with 130 and SIGTERM with 143, after the library has written what it
    must. A process that still has a thread inside a driver call (a stream
    that stopped answering) ends without interpreter shutdown, which would abort
    (see :mod:`flame.core.native_threads`).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        status: int | None = None
        before = native_threads.busy()  # in tests, threads of earlier commands in this process
        try:
            with sigterm_as_interrupt():
                result = func(*args, **kwargs)
        except FlameError as exc:
            click.echo(f"error: {exc}", err=True)
            status = EXIT_BAD_INPUT
        except Terminated:
            click.echo("terminated", err=True)
            status = EXIT_TERMINATED
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            status = EXIT_INTERRUPTED
        except SystemExit as exc:
            if not native_threads.busy(before):
                raise
            status = exc.code if isinstance(exc.code, int) else EXIT_OK if exc.code is None else EXIT_SHORT
        if status is None:
            if native_threads.busy(before):
                native_threads.exit_now(EXIT_OK, before)
            return result
        native_threads.exit_now(status, before)

    return wrapper  # type: ignore[return-value]


def parse_size(text: str | None) -> tuple[int, int] | None:
    """Parse ``HxW`` (for example ``512x1024``) into ``(height, width)``.

    Raises:
        ConfigError: when the text is not two positive integers joined by ``x``.
    """
    if text is None:
        return None
    parts = text.lower().replace("*", "x").split("x")
    try:
        height, width = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(
            f"expected a size as HxW (for example 512x1024), found {text!r}"
        ) from None
    if height <= 0 or width <= 0:
        raise ConfigError(f"expected a positive size HxW, found {text!r}")
    return height, width
