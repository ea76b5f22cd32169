"""Small engines, a virtual clock and test videos for the runtime tests and benchmark.

* :func:`write_tiny_onnx`: a real ONNX graph built by hand (uint8 [T,H,W,3] ->
  mean over frames and channels -> class bins -> uint8 [H,W], or float logits
  [C,H,W] whose argmax is those bins) carrying a FLAME card, loaded through
  ``load_engine`` like any export.
* :class:`DelayEngine`: an Engine with a known delay that advances a
  :class:`VirtualClock` (or sleeps), and remembers what it was fed.
* :func:`write_video`: a video whose frame i is filled with grey level ``level(i)``.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from flame.runtime.engines.base import Engine, Timing
from flame.core.card import ONNX_KEY, ModelCard


def make_card(window: int = 1, size: tuple[int, int] = (48, 64), fps: float = 30.0, classes: int = 4,
              backend: str = "onnx", output: str = "labels") -> ModelCard:
    """A valid card for a test engine."""
    palette = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)][:classes]
    return ModelCard(architecture="tiny-mean", num_classes=classes, class_names=[f"c{i}" for i in range(classes)],
                     palette=palette, window=window, fps=fps, input_size=size, backend=backend,
                     mode="two-frame" if window == 2 else "static", output=output)


def write_tiny_onnx(path: str | Path, window: int = 1, size: tuple[int, int] = (48, 64), fps: float = 30.0,
                    classes: int = 4, output: str = "labels") -> Path:
    """Write an ONNX model: labels = floor(mean over frames and channels * classes / 256).

    With ``output="logits"`` the graph returns float logits ``[C, H, W]``,
    ``-(x - c - 0.5 + 1e-3)**2`` for ``x = mean * classes / 256``: their argmax
    is the same floor (the small shift breaks the tie at whole x the way floor does).

    Returns:
        The path written.
    """
    import onnx
    from onnx import TensorProto, helper

    height, width = size
    card = make_card(window, size, fps, classes, output=output)
    nodes = [
        helper.make_node("Cast", ["frames"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["f", "axes"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "scale"], ["scaled"]),
    ]
    inits = [helper.make_tensor("axes", TensorProto.INT64, [2], [0, 3]),
             helper.make_tensor("scale", TensorProto.FLOAT, [], [classes / 256.0])]
    if output == "logits":
        centres = [c + 0.5 - 1e-3 for c in range(classes)]
        nodes += [
            helper.make_node("Sub", ["scaled", "centres"], ["diff"]),  # [H, W] - [C, 1, 1] -> [C, H, W]
            helper.make_node("Mul", ["diff", "diff"], ["square"]),
            helper.make_node("Neg", ["square"], ["logits"]),
        ]
        inits.append(helper.make_tensor("centres", TensorProto.FLOAT, [classes, 1, 1], centres))
        result = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [classes, height, width])
    else:
        nodes += [
            helper.make_node("Floor", ["scaled"], ["bins"]),
            helper.make_node("Cast", ["bins"], ["labels"], to=TensorProto.UINT8),
        ]
        result = helper.make_tensor_value_info("labels", TensorProto.UINT8, [height, width])
    graph = helper.make_graph(
        nodes, "tiny_mean",
        [helper.make_tensor_value_info("frames", TensorProto.UINT8, [window, height, width, 3])],
        [result], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, {ONNX_KEY: card.to_json()})
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


class VirtualClock:
    """A monotonic clock in ns that only moves when told (``sleep`` advances it)."""

    def __init__(self, start_ns: int = 1_000_000_000) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += int(round(ms * 1e6))

    def sleep(self, seconds: float) -> None:
        self.now += int(round(seconds * 1e9))


class DelayEngine(Engine):
    """An engine that takes ``delay_ms`` per call and labels every pixel by the newest frame's grey level.

    With a :class:`VirtualClock` the delay advances the clock; otherwise it sleeps.
    ``fed`` keeps the mean grey level of each input frame of every call.
    """

    backend = "test-delay"

    def __init__(self, delay_ms: float, card: ModelCard, clock: VirtualClock | None = None) -> None:
        super().__init__("delay-engine", card, "cpu")
        self.delay_ms = delay_ms
        self.clock = clock
        self.fed: list[list[float]] = []

    def _infer(self, frames: np.ndarray, timing: Timing) -> np.ndarray:
        self.fed.append([float(f.mean()) for f in frames])
        if self.clock is not None:
            self.clock.advance_ms(self.delay_ms)
        elif self.delay_ms:
            time.sleep(self.delay_ms / 1000.0)
        timing.compute_ms = self.delay_ms
        level = int(frames[-1, 0, 0, 0])
        return np.full(frames.shape[1:3], level * self.card.num_classes // 256, dtype=np.uint8)


def level(index: int) -> int:
    """Grey level of test frame ``index`` (distinct for 0..30, far apart for lossy codecs)."""
    return (index * 8) % 256


def write_video(path: str | Path, frames: int, fps: float, size: tuple[int, int] = (48, 64),
                fourcc: str = "MJPG") -> Path:
    """Write a video of ``frames`` flat grey frames (frame i at :func:`level` (i)).

    Returns:
        The path written.
    """
    height, width = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for i in range(frames):
        writer.write(np.full((height, width, 3), level(i), dtype=np.uint8))
    writer.release()
    return Path(path)


def decoded_index(mean_level: float) -> int:
    """The frame index whose grey level is nearest ``mean_level`` (frames 0..31)."""
    return int(round(mean_level / 8.0))
