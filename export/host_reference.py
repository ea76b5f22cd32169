"""The host reference of a foreign model: its preprocessing and our postprocessing in numpy.

A wrapped foreign graph (:mod:`flame.export.foreign_graph`) does inside ONNX
what this module does on the host: channel order, scaling and normalisation
before the user's network, logits upsampling and argmax after it. Verifying a
wrapped graph runs the *unwrapped* foreign model with ONNX Runtime on frames
prepared here, so the two paths are written independently and checked against
each other (and this one against hand-computed values in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from flame.core.errors import ConfigError

#: ImageNet statistics on the 0..1 scale, RGB order: torchvision's and most libraries' default.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHANNEL_ORDERS = ("rgb", "bgr")
SCALES = ("auto", "0-1", "0-255")


@dataclass(frozen=True)
class Preprocessing:
    """What a foreign model expects its input to be.

    Attributes:
        mean: per-channel mean on the 0..255 scale, in the model's channel order.
        std: per-channel standard deviation on the 0..255 scale, in the model's channel order.
        channels: ``rgb`` or ``bgr``: the order the model takes.
        scale: the scale the user's values were given on (``0-1`` or ``0-255``).
    """

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channels: str = "rgb"
    scale: str = "0-1"

    def rgb01(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) on the 0..1 scale in RGB order, as the model card stores them."""
        mean = tuple(v / 255.0 for v in self.mean)
        std = tuple(v / 255.0 for v in self.std)
        if self.channels == "bgr":
            return mean[::-1], std[::-1]
        return mean, std

    def describe(self) -> str:
        """One line: what the graph will do to the bytes."""
        given = "0-255" if self.scale == "0-255" else "0-1"
        values = ", ".join(f"{v:g}" for v in (self.mean if given == "0-255" else tuple(v / 255 for v in self.mean)))
        spread = ", ".join(f"{v:g}" for v in (self.std if given == "0-255" else tuple(v / 255 for v in self.std)))
        return (f"{self.channels.upper()} input, mean ({values}) and std ({spread}) read on the {given} scale"
                + (" (values above 1)" if given == "0-255" else ""))


def _triple(values: str | tuple | list, name: str) -> tuple[float, float, float]:
    if isinstance(values, str):
        parts = [p for p in values.replace(" ", ",").split(",") if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ConfigError(f"expected three numbers R,G,B for the {name}, found {values!r}") from None
    values = tuple(float(v) for v in values)
    if len(values) != 3 or not all(np.isfinite(values)):
        raise ConfigError(f"expected three finite numbers for the {name}, found {values!r}")
    return values  # type: ignore[return-value]


def preprocessing(mean: str | tuple | list | None = None, std: str | tuple | list | None = None,
                  channels: str = "rgb", scale: str = "auto") -> Preprocessing:
    """Read a model's normalisation as users carry it around.

    Both conventions are accepted: the 0..1 scale (torchvision: 0.485,0.456,0.406)
    and the 0..255 scale (mmsegmentation: 123.675,116.28,103.53). With
    ``scale="auto"`` any value above 1 in mean or std means the 0..255 scale.
    Values are in the model's channel order (``channels``).

    Raises:
        ConfigError: on values that are not three finite numbers, a std <= 0,
            an unknown channel order or scale.
    """
    if channels not in CHANNEL_ORDERS:
        raise ConfigError(f"unknown channel order {channels!r}; choose rgb or bgr")
    if scale not in SCALES:
        raise ConfigError(f"unknown input scale {scale!r}; choose one of {', '.join(SCALES)}")
    default_mean, default_std = IMAGENET_MEAN, IMAGENET_STD
    if channels == "bgr":
        default_mean, default_std = default_mean[::-1], default_std[::-1]
    mean_v = _triple(mean, "mean") if mean is not None else default_mean
    std_v = _triple(std, "std") if std is not None else default_std
    if min(std_v) <= 0:
        raise ConfigError(f"expected a std > 0 in every channel, found {std_v}")
    if scale == "auto":
        scale = "0-255" if max(*mean_v, *std_v) > 1.0 else "0-1"
    factor = 1.0 if scale == "0-255" else 255.0
    return Preprocessing(tuple(v * factor for v in mean_v), tuple(v * factor for v in std_v),  # type: ignore[arg-type]
                         channels, scale)


def host_preprocess(frames: np.ndarray, pre: Preprocessing, layout: str = "nchw") -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` BGR frames -> float32 ``[1, 3T, H, W]`` as the model takes them, oldest first
    (``[1, H, W, 3T]`` for an NHWC model)."""
    x = frames.astype(np.float32)
    if pre.channels == "rgb":
        x = x[..., ::-1]
    x = (x - np.asarray(pre.mean, np.float32)) / np.asarray(pre.std, np.float32)
    t, h, w, _ = x.shape
    stacked = x.transpose(0, 3, 1, 2).reshape(1, 3 * t, h, w)
    return np.ascontiguousarray(stacked.transpose(0, 2, 3, 1) if layout == "nhwc" else stacked)


def host_postprocess(output: np.ndarray, kind: str, size: tuple[int, int], result: str = "labels",
                     layout: str = "nchw", threshold: float = 0.5) -> np.ndarray:
    """A foreign model's raw output -> what a FLAME engine returns at the input size.

    Args:
        output: ``[1, C, h, w]`` scores (logits or probabilities) or ``[1, h, w]`` /
            ``[1, 1, h, w]`` class ids (channels last for an NHWC model).
        kind: ``scores``, ``binary`` (one score channel) or ``labels``.
        size: the input ``(H, W)``.
        result: ``labels`` (uint8 ``[H, W]``) or ``logits`` (float32 ``[C, H, W]``, scores only).
        layout: ``nchw`` or ``nhwc``.
        threshold: a binary model's score above which a pixel is its class (class 1).
    """
    height, width = size
    output = np.asarray(output)
    if layout == "nhwc" and output.ndim == 4:
        output = output.transpose(0, 3, 1, 2)
    if kind == "labels":
        ids = np.asarray(output).reshape(output.shape[-2], output.shape[-1]).astype(np.float32)
        if ids.shape != (height, width):
            # Nearest with floor(dst * scale): OpenCV's INTER_NEAREST, the graph's Resize(asymmetric, floor).
            ids = cv2.resize(ids, (width, height), interpolation=cv2.INTER_NEAREST)
        return ids.astype(np.uint8)
    scores = np.asarray(output, np.float32)[0]
    if scores.shape[1:] != (height, width):
        # Bilinear with half-pixel centres: OpenCV's INTER_LINEAR, the graph's Resize(linear, half_pixel).
        planes = [cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR) for plane in scores]
        scores = np.stack(planes)
    if kind == "binary":
        margin = scores[0] - np.float32(threshold)
        if result == "logits":
            return np.stack([-margin, margin])
        return (margin > 0).astype(np.uint8)
    if result == "logits":
        return scores
    return scores.argmax(axis=0).astype(np.uint8)
