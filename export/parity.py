"""Parity check: an exported artifact against the PyTorch wrapper it came from, on real frames.

The frames are a rendered synthetic video (moving textured shapes, the same
generator as the embedded data set) at the artifact's input size, so the
check needs no data on disk. Agreement is the fraction of pixels whose class
id matches (for logits exports: whose argmax matches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from flame.core.card import ModelCard

#: Minimum pixel agreement expected of an artifact, by precision.
THRESHOLDS = {"fp32": 0.999, "fp16": 0.99}


@dataclass(frozen=True)
class Parity:
    """Result of a parity check.

    Attributes:
        agreement: fraction of pixels with the same class id (0..1).
        pixels: pixels compared.
        windows: input windows compared.
        threshold: minimum agreement expected for this precision.
        precision: precision the artifact ran in.
        engine: short description of what ran it (backend and device).
        max_abs_diff: largest logit difference (logits exports only).
    """

    agreement: float
    pixels: int
    windows: int
    threshold: float
    precision: str
    engine: str
    max_abs_diff: float | None = None
    reference: str = "the PyTorch wrapper"

    @property
    def passed(self) -> bool:
        """Whether the agreement reaches the threshold."""
        return self.agreement >= self.threshold

    def summary(self) -> str:
        """One line for the terminal."""
        text = (f"pixel agreement with {self.reference}: {100 * self.agreement:.3f}% of {self.pixels} pixels "
                f"over {self.windows} windows ({self.engine}, {self.precision}; expected >= {100 * self.threshold:g}%)")
        if self.max_abs_diff is not None:
            text += f", max |logit difference| {self.max_abs_diff:.4g}"
        return text


def parity_windows(card: ModelCard, count: int = 4, seed: int = 0) -> list[np.ndarray]:
    """``count`` input windows (uint8 ``[T, H, W, 3]`` BGR, oldest first) of a rendered video.

    Windows start 3 frames apart so that the shapes have moved between them.
    """
    from flame.evaluation.datasets.synthetic import SyntheticSpec, render_sequence

    step = 3
    frames_needed = card.window + step * (count - 1)
    spec = SyntheticSpec(size=tuple(card.input_size), fps=card.fps, frames=max(2, frames_needed), seed=seed)
    frames, _ = render_sequence(spec, 0, "val")
    return [np.ascontiguousarray(frames[i * step:i * step + card.window]) for i in range(count)]


def compare(reference: Sequence[np.ndarray], candidate: Sequence[np.ndarray], output: str) -> tuple[float, int, float | None]:
    """Agreement of two lists of outputs.

    Returns:
        ``(agreement, pixels, max_abs_diff)``; ``max_abs_diff`` is None for label maps.
    """
    same = pixels = 0
    worst: float | None = None
    for ref, got in zip(reference, candidate):
        ref, got = np.asarray(ref), np.asarray(got)
        if ref.shape != got.shape:
            raise ValueError(f"outputs differ in shape: reference {ref.shape}, artifact {got.shape}")
        if output == "logits":
            diff = float(np.max(np.abs(ref.astype(np.float64) - got.astype(np.float64))))
            worst = diff if worst is None else max(worst, diff)
            ref, got = ref.argmax(axis=0), got.argmax(axis=0)
        same += int(np.count_nonzero(ref == got))
        pixels += ref.size
    return (same / pixels if pixels else 0.0), pixels, worst


def check_parity(reference: Callable[[np.ndarray], np.ndarray], candidate: Callable[[np.ndarray], np.ndarray],
                 windows: Sequence[np.ndarray], card: ModelCard, precision: str, engine: str,
                 reference_text: str = "the PyTorch wrapper") -> Parity:
    """Run both predictors on every window and measure their agreement.

    Args:
        reference: the reference predictor as a numpy callable (the PyTorch wrapper, or a foreign
            model's host path).
        candidate: the artifact's engine.
        windows: inputs from :func:`parity_windows`.
        card: the artifact's card (its ``output`` kind).
        precision: precision the candidate runs in (picks the threshold).
        engine: description of the candidate for the report.
        reference_text: what the reference is, for the report.
    """
    expected = [reference(w) for w in windows]
    found = [candidate(w) for w in windows]
    agreement, pixels, worst = compare(expected, found, card.output)
    return Parity(agreement, pixels, len(windows), THRESHOLDS[precision], precision, engine, worst, reference_text)
