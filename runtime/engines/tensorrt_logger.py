"""The process's one TensorRT logger: errors kept for a one-line report, warnings to Python logging."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flame.core.errors import first_line

if TYPE_CHECKING:
    import tensorrt as trt


class _ErrorLog:
    """TensorRT's errors since the last :meth:`take` (the last 20)."""

    def __init__(self) -> None:
        self._errors: list[str] = []

    def add(self, message: str) -> None:
        self._errors.append(message)
        del self._errors[:-20]

    def take(self) -> list[str]:
        """The errors logged since the last call."""
        errors, self._errors = self._errors, []
        return errors


_ERRORS = _ErrorLog()
_LOGGER: trt.ILogger | None = None


def tensorrt_logger() -> trt.ILogger:
    """The process's one TensorRT logger (TensorRT expects a single logger for all its objects).

    Errors are kept for :func:`last_error`, so that a failure can be reported
    in one line instead of TensorRT printing to stderr; warnings go to the
    ``flame.tensorrt`` Python logger; info and verbose messages are dropped.
    """
    import tensorrt as trt

    global _LOGGER
    if _LOGGER is None:
        class CollectingLogger(trt.ILogger):
            def __init__(self) -> None:
                trt.ILogger.__init__(self)

            def log(self, severity: trt.ILogger.Severity, msg: str) -> None:
                if severity in (trt.ILogger.INTERNAL_ERROR, trt.ILogger.ERROR):
                    _ERRORS.add(str(msg).strip())
                elif severity == trt.ILogger.WARNING:
                    logging.getLogger("flame.tensorrt").warning("%s", msg)

        _LOGGER = CollectingLogger()
    return _LOGGER


def last_error() -> str:
    """The last TensorRT error since the last call, shortened for a one-line message ('' if none)."""
    errors = _ERRORS.take()
    return first_line(errors[-1]) if errors else ""
