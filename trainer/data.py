"""Training samples from any ``flame.evaluation`` sequence set.

For an annotated frame j, an offset k and a window T the input is frames
``j-k-T+1 .. j-k`` (oldest first) and the target is the label map S_j;
samples whose window would start before frame 0 are not drawn. The frames
and the target go through the same random scale, crop and horizontal flip;
the frames also through the same Gaussian blur (a blur has no meaning on a
label map). Samples are uint8 BGR frames and uint8 labels; :func:`normalise`
turns a batch into the network's input with the very function the deployed
graph runs (:func:`flame.trainer.deploy.normalise_frames`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from flame.core.errors import ConfigError, param
from flame.evaluation.datasets.base import VOID, Sequence, SequenceDataset
from flame.trainer.deploy import normalisation, normalise_frames


@dataclass(frozen=True)
class Augmentation:
    """Random transforms shared by every frame of a window and its target.

    Attributes:
        crop: (H, W) of the crop, or None for the whole (resized) frame.
        scale: range of the random scale factor relative to the base size.
        flip: probability of a horizontal flip.
        blur: probability of a Gaussian blur of the frames.
        blur_sigma: range of the blur's standard deviation in pixels.
    """

    crop: tuple[int, int] | None = None
    scale: tuple[float, float] = (0.75, 1.5)
    flip: float = 0.5
    blur: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 1.5)


#: No randomness: frames and labels resized to the base size only.
NO_AUGMENTATION = Augmentation(crop=None, scale=(1.0, 1.0), flip=0.0, blur=0.0)


def window_samples(dataset: SequenceDataset, offset: int, window: int) -> list[tuple[int, int]]:
    """``(sequence index, annotated frame j)`` for every j whose window starts at frame 0 or later.

    Raises:
        ConfigError: on a negative offset or a window below 1.
    """
    if offset < 0 or window < 1:
        raise ConfigError(f"expected offset >= 0 and window >= 1, found {offset} and {window}")
    history = offset + window - 1
    return [(s, j) for s, seq in enumerate(dataset.sequences) for j in seq.annotated
            if history <= j < seq.num_frames]


def max_history(dataset: SequenceDataset) -> int:
    """The most frames any annotated frame has before it (offset + window - 1 must not exceed it)."""
    return max((max(seq.annotated) for seq in dataset.sequences if seq.annotated), default=-1)


def _resize(image: np.ndarray, size: tuple[int, int], nearest: bool) -> np.ndarray:
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR)


def _crop_or_pad(image: np.ndarray, top: int, left: int, size: tuple[int, int], fill) -> np.ndarray:
    """The ``size`` window at (top, left) of ``image``; parts outside it take ``fill``."""
    height, width = size
    out = np.empty((height, width) + image.shape[2:], image.dtype)
    out[...] = fill
    y0, x0 = max(0, top), max(0, left)
    y1, x1 = min(image.shape[0], top + height), min(image.shape[1], left + width)
    if y1 > y0 and x1 > x0:
        out[y0 - top:y1 - top, x0 - left:x1 - left] = image[y0:y1, x0:x1]
    return out


def augment_window(frames: np.ndarray, label: np.ndarray, rng: np.random.Generator, base_size: tuple[int, int],
                   augmentation: Augmentation, fill_bgr: tuple[int, int, int] = (0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """Apply one draw of the random transforms to every frame and to the label.

    Args:
        frames: uint8 ``[T, H, W, 3]`` BGR.
        label: uint8 ``[H, W]`` class ids, 255 void.
        rng: source of the random draws (drawn in a fixed order).
        base_size: (H, W) the frames are resized to at scale 1.
        augmentation: the transforms.
        fill_bgr: colour of the frame padding (the label padding is void).

    Returns:
        ``(frames [T, h, w, 3], label [h, w])`` at the crop size (or the scaled size without crop).
    """
    scale = float(rng.uniform(*augmentation.scale))
    size = (max(1, round(base_size[0] * scale)), max(1, round(base_size[1] * scale)))
    crop = augmentation.crop or size
    # The crop may be larger than the scaled image: its origin then ranges over the padding.
    top = int(rng.integers(min(0, size[0] - crop[0]), max(0, size[0] - crop[0]) + 1))
    left = int(rng.integers(min(0, size[1] - crop[1]), max(0, size[1] - crop[1]) + 1))
    flip = bool(rng.random() < augmentation.flip)
    blur = bool(rng.random() < augmentation.blur)
    sigma = float(rng.uniform(*augmentation.blur_sigma))

    out_label = _crop_or_pad(_resize(label, size, nearest=True), top, left, crop, VOID)
    out_frames = []
    for frame in frames:
        frame = _crop_or_pad(_resize(frame, size, nearest=False), top, left, crop, fill_bgr)
        if blur:
            frame = cv2.GaussianBlur(frame, (0, 0), sigma)
        out_frames.append(frame)
    out = np.stack(out_frames)
    if flip:
        out, out_label = out[:, :, ::-1], out_label[:, ::-1]
    return np.ascontiguousarray(out), np.ascontiguousarray(out_label)


class WindowDataset(Dataset):
    """Torch dataset of ``(frames uint8 [T, H, W, 3] BGR, label uint8 [H, W])`` samples.

    Randomness comes from ``numpy.random.default_rng([seed, epoch, index])``,
    so a sample depends only on the seed, the epoch (:meth:`set_epoch`) and its
    index: resumed and multi-process runs draw exactly what one run would.

    Args:
        dataset: the sequences.
        offset: frame offset k between the newest input frame and the target.
        window: input frames T.
        base_size: (H, W) of the frames at scale 1 (the model's input size).
        augmentation: random transforms (:data:`NO_AUGMENTATION` for none).
        seed: base seed of the random draws.
        mean: RGB mean on the 0..1 scale; the frame padding takes this colour.

    Raises:
        ConfigError: when the data set has no sample for this offset and window.
    """

    def __init__(self, dataset: SequenceDataset, offset: int, window: int, base_size: tuple[int, int],
                 augmentation: Augmentation = NO_AUGMENTATION, seed: int = 0,
                 mean: tuple[float, float, float] = (0.485, 0.456, 0.406)) -> None:
        self.sequences: list[Sequence] = list(dataset.sequences)
        self.offset = int(offset)
        self.window = int(window)
        self.base_size = (int(base_size[0]), int(base_size[1]))
        self.augmentation = augmentation
        self.seed = int(seed)
        self.epoch = 0
        # Padding in the mean colour normalises to zero, like a missing input.
        self.fill_bgr = tuple(int(round(255 * v)) for v in reversed(mean))
        self.samples = window_samples(dataset, self.offset, self.window)
        if not self.samples:
            raise ConfigError(offset_error(dataset, self.offset, self.window))

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's random draws (call before iterating)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def source_frames(self, index: int) -> tuple[str, list[int], int]:
        """(sequence name, input frame indices oldest first, target frame) of sample ``index``."""
        s, j = self.samples[index]
        last = j - self.offset
        return self.sequences[s].name, list(range(last - self.window + 1, last + 1)), j

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        s, j = self.samples[index]
        seq = self.sequences[s]
        frames = seq.window(j - self.offset, self.window)
        label = seq.label(j)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        frames, label = augment_window(frames, label, rng, self.base_size, self.augmentation, self.fill_bgr)
        return torch.from_numpy(frames), torch.from_numpy(label)


def offset_error(dataset: SequenceDataset, offset: int, window: int) -> str:
    """Why a data set has no sample for an offset and window, and what to change."""
    have = max_history(dataset)
    need = offset + window - 1
    return (f"offset k={offset} with a window of {window} frame(s) needs {need} frames before an annotated frame, "
            f"but {dataset.name} has at most {max(have, 0)} (its latest annotated frame is index {have}); "
            f"use a smaller {param('offset')}/{param('latency_ms')} or {param('window')}")


def normalise(frames: Tensor, mean: tuple[float, float, float], std: tuple[float, float, float]) -> Tensor:
    """uint8 ``[N, T, H, W, 3]`` BGR -> float ``[N, 3T, H, W]``: the deployed graph's own preprocessing, batched."""
    scale, shift = normalisation(mean, std, frames.device)
    return normalise_frames(frames, scale, shift)
