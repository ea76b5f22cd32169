"""The engine contract every backend implements (docs/architecture.md, "Engine contract").

``labels = engine(frames)``: ``frames`` is uint8 ``[T, H, W, 3]`` BGR, oldest
first, at the card's input size; ``labels`` is a uint8 ``[H, W]`` class-id map
whatever the artifact returns: for a logits export (card ``output="logits"``)
the engine takes the argmax over the class axis on the host. ``engine.raw(frames)``
returns what the artifact itself computes (float ``[C, H, W]`` logits for a
logits export). Each call records a timing breakdown in :attr:`Engine.last_timing`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flame.core.sizes import format_size
from flame.core.errors import CardError, EngineError
from flame.core.card import ModelCard


@dataclass
class Timing:
    """Where one engine call spent its time, in milliseconds.

    On CUDA backends each span ends after a device synchronisation.
    ``total_ms`` is the whole call, validation and (logits exports) the host
    argmax included.
    """

    prepare_ms: float = 0.0
    copy_in_ms: float = 0.0
    compute_ms: float = 0.0
    copy_out_ms: float = 0.0
    total_ms: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """The spans as a plain dict."""
        return asdict(self)


def expected_io(card: ModelCard) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The tensor shapes a card promises: frames ``(T, H, W, 3)`` in, labels ``(H, W)`` or logits ``(C, H, W)`` out."""
    height, width = card.input_size
    out = (height, width) if card.output == "labels" else (card.num_classes, height, width)
    return (card.window, height, width, 3), out


def check_card_fits(card: ModelCard, input_shape: tuple, input_dtype: Any, output_shape: tuple, output_dtype: Any,
                    engine: str, card_source: str = "its card") -> None:
    """Refuse a card that contradicts an engine's declared tensors (window, size, classes, dtypes).

    Dims that are not integers (symbolic or unknown) are not compared.

    Raises:
        CardError: naming the tensor, what the card says and what the engine has.
    """
    want_in, want_out = expected_io(card)
    problems = []

    def differs(found: tuple, want: tuple) -> bool:
        return len(found) != len(want) or any(isinstance(f, int) and f != w for f, w in zip(found, want))

    if differs(tuple(input_shape), want_in) or np.dtype(input_dtype) != np.uint8:
        problems.append(f"the card says input uint8 {list(want_in)} (window {card.window} at "
                        f"{format_size(card.input_size)}), the engine takes {np.dtype(input_dtype)} "
                        f"{list(input_shape)}")
    integer_out = np.issubdtype(np.dtype(output_dtype), np.integer)
    if differs(tuple(output_shape), want_out) or integer_out != (card.output == "labels"):
        problems.append(f"the card says output {card.output} {list(want_out)}, the engine returns "
                        f"{np.dtype(output_dtype)} {list(output_shape)}")
    if problems:
        raise CardError(f"{card_source} does not fit {engine}: " + "; ".join(problems))


def logits_to_labels(logits: np.ndarray) -> np.ndarray:
    """Class ids ``[H, W]`` (uint8) from logits ``[C, H, W]`` (or ``[1, C, H, W]``).

    Raises:
        EngineError: on another shape, or more classes than uint8 can hold.
    """
    if logits.ndim == 4 and logits.shape[0] == 1:
        logits = logits[0]
    if logits.ndim != 3:
        raise EngineError(f"a logits export returns [C, H, W]; this one returned shape {logits.shape}")
    if logits.shape[0] > 256:
        raise EngineError(f"{logits.shape[0]} classes do not fit uint8 labels (at most 256)")
    return logits.argmax(axis=0).astype(np.uint8)


def now_ms() -> float:
    """Monotonic clock in milliseconds (``perf_counter_ns``)."""
    return time.perf_counter_ns() / 1e6


class Engine(ABC):
    """A loaded artifact that maps uint8 BGR frames to a label map.

    Subclasses implement :meth:`_infer` (and :meth:`_release`), filling the
    timing spans they can measure.

    Attributes:
        path: the artifact file.
        card: its model card.
        backend: short backend name (``onnxruntime``, ``tensorrt``, ``torch``...).
        device: where it computes (``cpu``, ``cuda:0``).
        last_timing: breakdown of the latest call, None before the first.
    """

    backend = "engine"

    def __init__(self, path: str | Path, card: ModelCard, device: str = "cpu") -> None:
        self.path = Path(path)
        self.card = card
        self.device = device
        self.last_timing: Timing | None = None
        self._closed = False

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """The frames shape the engine takes: ``(T, H, W, 3)``."""
        height, width = self.card.input_size
        return (self.card.window, height, width, 3)

    def check_frames(self, frames: Any) -> np.ndarray:
        """Validate an input batch; returns it as a C-contiguous array.

        Raises:
            EngineError: on a wrong type, dtype, window or size.
        """
        if not isinstance(frames, np.ndarray):
            raise EngineError(f"expected frames as a numpy uint8 array {self.input_shape}, found {type(frames).__name__}")
        if frames.dtype != np.uint8:
            raise EngineError(f"expected uint8 frames, found dtype {frames.dtype}; pass raw 0..255 BGR images")
        expected = self.input_shape
        if frames.shape != expected:
            if frames.ndim == 4 and frames.shape[0] != expected[0]:
                why = f"this model takes a window of {expected[0]} frames (oldest first), found {frames.shape[0]}"
            elif frames.ndim == 4 and frames.shape[1:3] != expected[1:3]:
                why = (f"frames are {format_size(frames.shape[1:3])} but the engine takes "
                       f"{format_size(expected[1:3])}; resize them first (cv2.resize)")
            else:
                why = f"expected shape {expected} [T, H, W, 3] BGR, found {frames.shape}"
            raise EngineError(why)
        return np.ascontiguousarray(frames)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Run the engine on one window of frames; returns uint8 labels ``[H, W]``.

        Raises:
            EngineError: on bad frames, a closed engine, or a backend failure.
        """
        return self._run(frames, labels=True)

    def raw(self, frames: np.ndarray) -> np.ndarray:
        """Run the engine and return the artifact's own output, untouched.

        For a labels export this is the same as calling the engine; for a
        logits export it is the float ``[C, H, W]`` logits.

        Raises:
            EngineError: on bad frames, a closed engine, or a backend failure.
        """
        return self._run(frames, labels=False)

    def _run(self, frames: np.ndarray, labels: bool) -> np.ndarray:
        """One timed call: validate, infer, (``labels``: a logits export's host argmax), record the timing."""
        start = now_ms()
        if self._closed:
            raise EngineError(f"engine {self.path.name} is closed")
        frames = self.check_frames(frames)
        timing = Timing()
        output = self._infer(frames, timing)
        if labels and self.card.output == "logits":
            output = logits_to_labels(output)
        timing.total_ms = now_ms() - start
        self.last_timing = timing
        return output

    @abstractmethod
    def _infer(self, frames: np.ndarray, timing: Timing) -> np.ndarray:
        """Backend inference on validated frames; fills ``timing``."""

    def _release(self) -> None:
        """Free backend resources (device memory, sessions)."""

    def close(self) -> None:
        """Free the engine's resources; further calls raise."""
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        """Backend, device, file and card summary, for reports."""
        return {"backend": self.backend, "device": self.device, "path": str(self.path), "card": self.card.summary()}
