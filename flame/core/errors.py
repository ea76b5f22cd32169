"""Typed errors shared by every layer.

Every error the library raises for bad input derives from :class:`FlameError`,
so a command can turn any of them into one line and exit status 2. Messages
say what was expected, what was found, and how to fix it.
"""

from __future__ import annotations


class FlameError(Exception):
    """Base class of every error FLAME raises for bad input or environment.

    Args:
        message: what was wrong, in plain words.
        parameter: the library parameter at fault, if one is; a command maps it to its own option name.
    """

    def __init__(self, message: str = "", parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class DataError(FlameError):
    """A data set, label map or prediction is missing or malformed."""


class ConfigError(FlameError):
    """An option or argument has a value that cannot be used."""


class DependencyError(FlameError):
    """An optional dependency (torch, TensorRT, CUDA...) is missing."""


class EngineError(FlameError):
    """An engine file cannot be loaded or run."""


class CheckpointError(FlameError):
    """A checkpoint is missing, corrupt or does not match the model."""


class SourceError(FlameError):
    """A camera, video, folder or stream cannot be opened or read."""


class CardError(FlameError):
    """A model card is missing, malformed or of an unknown format version."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first non-empty line of an exception's message (its type name when empty), at most ``limit`` chars."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return type(exc).__name__
