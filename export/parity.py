"""Parity check: an exported artifact against the PyTorch wrapper it came from, on real frames.

The frames are a rendered synthetic video (moving textured shapes, the same
generator as the embedded data set) at the artifact's input size, so the
check needs no data on disk. Agreement is the fraction of pixels whose class
id matches (for logits exports: whose argmax matches).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from flame.core.card import ModelCard

if TYPE_CHECKING:
    from flame.evaluation.datasets import SequenceDataset

#: Minimum pixel agreement expected of an artifact, by precision.
THRESHOLDS = {"fp32": 0.999, "fp16": 0.99, "int8": 0.97}


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
        miou_reference: static mIoU of the reference on ``miou_dataset`` (INT8 exports).
        miou: static mIoU of the artifact there.
        miou_dataset: the data set both were scored on.
    """

    agreement: float
    pixels: int
    windows: int
    threshold: float
    precision: str
    engine: str
    max_abs_diff: float | None = None
    reference: str = "the PyTorch wrapper"
    miou_reference: float | None = None
    miou: float | None = None
    miou_dataset: str | None = None

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
        if self.miou is not None and self.miou_reference is not None:
            text += (f"; static mIoU on {self.miou_dataset}: {self.miou:.4f} against the reference's "
                     f"{self.miou_reference:.4f} ({self.miou - self.miou_reference:+.4f})")
        return text

    @property
    def miou_change(self) -> float | None:
        """Artifact minus reference static mIoU (None when not measured)."""
        if self.miou is None or self.miou_reference is None:
            return None
        return self.miou - self.miou_reference


def dataset_windows(dataset: "SequenceDataset", window: int, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """Up to ``count`` input windows of a data set, evenly spread over its sequences, resized to ``size``."""
    from flame.core.errors import DataError
    from flame.export.calibration import calibration_windows

    available = sum(max(0, seq.num_frames - window + 1) for seq in dataset.sequences)
    if available == 0:
        raise DataError(f"validation data set {dataset.name} has no sequence of {window} frames to check with")
    return calibration_windows(dataset, window, size, min(count, available))


def static_mious(reference: Callable[[np.ndarray], np.ndarray], candidate: Callable[[np.ndarray], np.ndarray],
                 dataset: "SequenceDataset", card: ModelCard) -> tuple[float, float]:
    """Static mIoU of two label predictors on every annotated frame of ``dataset``.

    Frames are resized to the card's input size and the labels back to the
    data set's (as ``flame-eval`` scores an engine).

    Returns:
        ``(reference mIoU, candidate mIoU)``.
    """
    from flame.evaluation.protocols import PredictorSource, static_miou

    size = (int(card.input_size[0]), int(card.input_size[1]))
    scores = [static_miou(dataset, PredictorSource(p, card.window, input_size=size)).miou for p in (reference, candidate)]
    return scores[0], scores[1]


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
