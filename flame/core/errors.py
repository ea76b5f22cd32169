"""Typed errors shared by every layer.

Every error the library raises for bad input derives from :class:`FlameError`,
so a command can turn any of them into one line and exit status 2. Messages
say what was expected, what was found, and how to fix it.

An error caused by an argument names it in its message with :func:`param`
(the library's parameter name: ``f"expected {param('max_frames')} >= 1"``):
``str(error)`` shows the plain name (``max_frames``), and
:meth:`FlameError.render` lets a command show the option the user typed
instead (``--max-frames``). The first such name is the error's ``parameter``.
The mark is a character no path or number can hold (NUL), so any text put
into a message as a value (a path with braces, another library's message)
is shown exactly as it is.
"""

from __future__ import annotations

import re
from typing import Callable

#: Marks a parameter name in a message: NUL, which no file path (POSIX or Windows) can contain.
_MARK = "\x00"
#: A parameter named in a message: :func:`param`'s output.
_FIELD = re.compile(_MARK + r"([A-Za-z_][A-Za-z0-9_]*)" + _MARK)


def param(name: str) -> str:
    """``name`` marked as the parameter it is, inside an error message.

    ``ConfigError(f"expected {param('max_frames')} >= 1, found 0")`` reads "expected max_frames >= 1,
    found 0" from Python and "expected --max-frames >= 1, found 0" from the command.
    """
    return f"{_MARK}{name}{_MARK}"


class FlameError(Exception):
    """Base class of every error FLAME raises for bad input or environment.

    Args:
        message: what was expected, what was found, and how to fix it; the
            parameters it speaks of marked with :func:`param`.
        parameter: the parameter whose value caused the error; by default the
            first one the message names.
    """

    def __init__(self, message: str = "", *, parameter: str | None = None) -> None:
        self.template = message
        #: Every parameter the message names, in order.
        self.parameters: tuple[str, ...] = tuple(dict.fromkeys(_FIELD.findall(message)))
        self.parameter = parameter or (self.parameters[0] if self.parameters else None)
        super().__init__(self.render())

    def __reduce__(self) -> tuple:
        # Rebuilt from the template (not the rendered text), so an error that
        # crosses a process boundary (DataLoader workers) keeps its parameters.
        return type(self), (self.template,), self.__dict__

    def render(self, name: Callable[[str], str] = str) -> str:
        """The message with each marked parameter written as ``name(parameter)``."""
        return _FIELD.sub(lambda m: name(m.group(1)), self.template)


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


def first_line(exc: BaseException | str, limit: int = 200, typed: bool = False) -> str:
    """The first non-empty line of an exception's message (or of a text), cut to ``limit`` characters.

    Third-party errors (ONNX, TensorRT, torch) often carry pages of trace; a
    one-line message keeps the cause readable. An empty message gives the
    exception's type name, so the caller always has something to show;
    ``typed`` puts the type name in front (``"KeyError: 'model'"``).
    """
    kind = type(exc).__name__ if isinstance(exc, BaseException) else ""
    # Another library's text never carries a parameter mark into ours.
    text_of = str(exc).replace(_MARK, "")
    line = next((text.strip() for text in text_of.splitlines() if text.strip()), "")[:limit]
    if not line:
        return kind
    return f"{kind}: {line}" if typed and kind else line


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM (``docker stop``, systemd, ROS launch).

    A KeyboardInterrupt, so every path that finishes its work on Ctrl-C
    (a run report, a checkpoint) does the same on SIGTERM; code that must tell
    them apart (a report's ``end_reason``) checks for this class. Commands exit
    with status 143.
    """
