"""What a long application (demo, bench) tells its caller while it runs.

The applications call these methods; every one is a no-op here, so a library
caller gets a silent run. A command subclasses :class:`Events` once to draw
them on the terminal (``flame.cli.ui.TerminalEvents``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, ContextManager


class Events:
    """Progress of a demo or benchmark run; every method is a no-op here."""

    def stage(self, text: str) -> None:
        """A new stage (a format, a training run, a scoring run) starts."""

    def info(self, text: str) -> None:
        """A one-line note."""

    def trainer(self) -> ContextManager[Any]:
        """Context giving a :class:`flame.trainer.reporting.Reporter` for one training run (None: silent)."""
        return contextlib.nullcontext(None)

    def progress(self) -> ContextManager[Callable[[int, int], None] | None]:
        """Context giving a ``(done, total)`` callback for one scoring run (None: silent)."""
        return contextlib.nullcontext(None)
