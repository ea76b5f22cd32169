"""Checking a name against the names a registry offers."""

from __future__ import annotations

from typing import Iterable

from flame.core.errors import ConfigError, param


def check_choice(value: str, choices: Iterable[str], what: str, parameter: str) -> str:
    """``value`` if it is one of ``choices``.

    Args:
        value: the name given.
        choices: the names allowed, in the order the message lists them.
        what: what the name names, for the message (``"INT8 target"``).
        parameter: the parameter it came in, left as ``{parameter}`` for the CLI to name its flag.

    Raises:
        ConfigError: on any other name.
    """
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r} for {param(parameter)}; choose one of {', '.join(choices)}")
    return value
