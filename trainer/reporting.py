"""What the training loop tells its caller; the CLI draws it with rich, the library stays silent."""

from __future__ import annotations

from typing import Any, Callable


class Reporter:
    """Receives the training loop's events. Every method is a no-op here.

    Only rank 0 gets the caller's reporter; other ranks get this silent one.
    """

    def info(self, text: str) -> None:
        """A one-line note (what is loaded, what is assumed)."""

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        """Epoch ``epoch`` (1-based) of ``epochs`` begins, with ``steps`` optimisation steps."""

    def step(self, done: int, loss: float, images_per_s: float) -> None:
        """``done`` steps of the epoch finished; running mean loss and throughput."""

    def validation(self) -> Callable[[int, int], None] | None:
        """A ``(done, total)`` callback for the validation predictions, or None."""
        return None

    def end_epoch(self, metrics: dict[str, Any]) -> None:
        """The epoch's metrics (the line written to ``metrics.jsonl``)."""
