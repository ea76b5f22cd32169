"""Typed errors shared by every layer.

Every error the library raises for bad input derives from :class:`FlameError`,
so a command can turn any of them into one line and exit status 2. Messages
say what was expected, what was found, and how to fix it.
"""

from __future__ import annotations


class FlameError(Exception):
    """Base class of every error FLAME raises for bad input or environment."""


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


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM (``docker stop``, systemd, ROS launch).

    A KeyboardInterrupt, so every path that finishes its work on Ctrl-C
    (a run report, a checkpoint) does the same on SIGTERM; code that must tell
    them apart (a report's ``end_reason``) checks for this class. Commands exit
    with status 143.
    """
