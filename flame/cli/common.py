"""Helpers shared by the commands: error handling and option parsing."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Mapping, TypeVar

import click

from flame.core.errors import ConfigError, FlameError

F = TypeVar("F", bound=Callable[..., Any])


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
    """Turn library errors into one clear line on stderr and exit status 2.

    Parameters an error names are written as the command's options: derived
    from its click options, with ``flags`` for library names that differ
    (``{"duration_s": "--duration"}``). Use as ``@handle_errors`` or
    ``@handle_errors(flags=...)``. Ctrl-C exits with status 130 after the
    library has written what it must.
    """
    if func is None:
        return functools.partial(handle_errors, flags=flags)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlameError as exc:
            ctx = click.get_current_context(silent=True)
            names = {**option_flags(ctx.command if ctx else None), **(flags or {})}
            click.echo(error_line(exc, names), err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


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
