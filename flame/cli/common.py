"""Helpers shared by the commands: error handling and option parsing."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable, TypeVar

import click

from flame.core.errors import ConfigError, FlameError
from flame.core.extras import install_hint

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn library errors into one clear line on stderr and exit status 2.

    A module of an optional extra that is missing (``torch`` on a base
    install) is one line naming the extra, exit status 2, whichever import
    found it missing. Ctrl-C exits with status 130 after the library has
    written what it must.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlameError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except ModuleNotFoundError as exc:
            hint = install_hint(exc.name or "")
            if hint is None:
                raise
            click.echo(f"error: {hint}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

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
