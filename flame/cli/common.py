"""Helpers shared by the commands: error handling and option parsing."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from typing import Any, Callable, Iterator, Mapping, TypeVar

import click

from flame.cli import ranks
from flame.core import native_threads
from flame.core.deps import install_hint
from flame.core.errors import FlameError, Terminated

F = TypeVar("F", bound=Callable[..., Any])


#: Exit statuses of every command (docs/exit-statuses.md).
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


def _leaving() -> None:
    # Under torchrun the launcher sends SIGTERM to every rank once one has failed; a rank already on
    # its way out (saying why, or waiting to hear which rank failed) finishes with its own status.
    if ranks.distributed() and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def option_flags(command: click.Command | None) -> dict[str, str]:
    """Library parameter name -> the option that sets it, derived from a command's options.

    ``--max-frames`` answers for ``max_frames`` and for the option's click name
    (``--frames`` stored as ``frames_dir`` answers for both names).
    """
    flags: dict[str, str] = {}
    for param in command.params if command is not None else ():
        if isinstance(param, click.Option):
            flag = max((o for o in param.opts if o.startswith("--")), key=len, default=param.opts[0])
            flags.setdefault(flag.lstrip("-").replace("-", "_"), flag)
            flags.setdefault(param.name or "", flag)
            for off in param.secondary_opts:  # --no-realtime answers for no_realtime
                flags.setdefault(off.lstrip("-").replace("-", "_"), off)
    return flags


def error_line(exc: FlameError, flags: Mapping[str, str]) -> str:
    """The one line a command prints for ``exc``: its parameters written as the command's options."""
    return f"error: {exc.render(lambda name: flags.get(name, name))}"


def handle_errors(func: F | None = None, *, flags: Mapping[str, str] | None = None) -> Any:
    """Run a command with the shared exit statuses (docs/exit-statuses.md).

    Library errors become one clear line on stderr and exit status 2; the
    parameters an error names are written as the command's options: derived
    from its click options, with ``flags`` for library names that differ
    (``{"duration_s": "--duration"}``). Use as ``@handle_errors`` or
    ``@handle_errors(flags=...)``. Ctrl-C exits with 130 and SIGTERM with 143,
    after the library has written what it must. Under ``torchrun`` the first
    rank that fails prints its line and the others leave quietly with the same
    status (:mod:`flame.cli.ranks`); Ctrl-C and SIGTERM are announced by rank 0.
    A process that still has a thread inside a driver call (a stream that
    stopped answering) ends without interpreter shutdown, which would abort
    (see :mod:`flame.core.native_threads`). A module of an optional extra that
    is missing (``torch`` on a base install) is one line naming the extra, exit
    status 2, whichever import found it missing.
    """
    if func is None:
        return functools.partial(handle_errors, flags=flags)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        status: int | None = None
        before = native_threads.busy()  # in tests, threads of earlier commands in this process
        try:
            with sigterm_as_interrupt():
                result = func(*args, **kwargs)
        except FlameError as exc:
            _leaving()
            ctx = click.get_current_context(silent=True)
            names = {**option_flags(ctx.command if ctx else None), **(flags or {})}
            line = error_line(exc, names)
            status = EXIT_BAD_INPUT
            if ranks.claim(status, line):
                click.echo(line, err=True)
        except ModuleNotFoundError as exc:
            hint = install_hint(exc.name or "")
            if hint is None:
                raise
            _leaving()
            line, status = f"error: {hint}", EXIT_BAD_INPUT
            if ranks.claim(status, line):
                click.echo(line, err=True)
        except KeyboardInterrupt as exc:
            _leaving()
            # Under torchrun the launcher stops the other ranks with SIGTERM after one failed.
            elsewhere = ranks.failed_elsewhere()
            status = elsewhere or (EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED)
            if elsewhere is None and (not ranks.distributed() or ranks.is_rank_zero()):
                click.echo("terminated" if isinstance(exc, Terminated) else "interrupted", err=True)
        except SystemExit as exc:
            if not native_threads.busy(before):
                raise
            status = exc.code if isinstance(exc.code, int) else EXIT_OK if exc.code is None else EXIT_SHORT
        except Exception:
            _leaving()
            # A collective that broke because another rank failed first (gloo: "Connection reset by
            # peer"): that rank has said why; this one leaves quietly. Anything else is a bug: raise.
            elsewhere = ranks.failed_elsewhere(wait_s=5.0)
            if elsewhere is None:
                raise
            status = elsewhere
        if status is None:
            if native_threads.busy(before):
                native_threads.exit_now(EXIT_OK, before)
            return result
        native_threads.exit_now(status, before)

    return wrapper
