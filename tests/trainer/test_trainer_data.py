"""Training samples: which frames feed which target, and one shared augmentation per window."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flame.core.errors import ConfigError
from flame.evaluation.datasets.base import Sequence, SequenceDataset
from flame.core.card import ModelCard
from flame.trainer.data import (
    NO_AUGMENTATION,
    Augmentation,
    WindowDataset,
    augment_window,
    normalise,
    window_samples,
)
from flame.trainer.deploy import DeployWrapper, deploy_wrapper
from flame.trainer.models import build_model

H, W = 32, 64


class CodedSequence(Sequence):
    """Frame i holds (B, G, R) = (x, y, 10*i) at pixel (y, x); label j holds (x + y + j) % 5."""

    def __init__(self, name: str, num_frames: int, annotated: list[int], height: int = H, width: int = W) -> None:
        self.name, self.num_frames, self.fps, self.annotated = name, num_frames, 10.0, annotated
        self.yy, self.xx = np.mgrid[0:height, 0:width]

    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        return np.stack([self.xx, self.yy, np.full_like(self.xx, 10 * index)], -1).astype(np.uint8)

    def label(self, index: int) -> np.ndarray:
        return ((self.xx + self.yy + index) % 5).astype(np.uint8)


def coded_dataset(*sequences: Sequence) -> SequenceDataset:
    names = [f"c{i}" for i in range(5)]
    return SequenceDataset("coded", names, np.zeros((5, 3), np.uint8), list(sequences), 10.0)


def test_samples_pair_frames_j_minus_k_with_target_j():
    data = coded_dataset(CodedSequence("a", 10, [2, 5, 9]), CodedSequence("b", 4, [1, 3]))
    # offset 2, window 2: S_j needs frames j-3 and j-2, so j >= 3.
    assert window_samples(data, 2, 2) == [(0, 5), (0, 9), (1, 3)]
    ds = WindowDataset(data, offset=2, window=2, base_size=(H, W))
    assert len(ds) == 3
    assert ds.source_frames(1) == ("a", [6, 7], 9)
    frames, label = ds[1]
    assert frames.dtype == torch.uint8 and frames.shape == (2, H, W, 3)
    assert frames[:, 0, 0, 2].tolist() == [60, 70]  # R channel codes the frame index, oldest first
    assert torch.equal(label, torch.from_numpy(data.sequences[0].label(9)))
    # Static samples: every annotated frame, its own frame as input.
    assert window_samples(data, 0, 1) == [(0, 2), (0, 5), (0, 9), (1, 1), (1, 3)]


def test_offset_beyond_the_history_is_refused_with_the_numbers():
    data = coded_dataset(CodedSequence("a", 20, [19]))
    assert window_samples(data, 19, 1) == [(0, 19)]
    with pytest.raises(ConfigError, match=r"k=19 with a window of 2 frame\(s\) needs 20 frames .* at most 19"):
        WindowDataset(data, offset=19, window=2, base_size=(H, W))


def test_scale_one_crop_and_flip_are_shared_by_frames_and_label():
    seq = CodedSequence("a", 3, [2])
    frames, label = seq.window(2, 2), seq.label(2)
    aug = Augmentation(crop=(24, 40), scale=(1.0, 1.0), flip=1.0, blur=0.0)
    out_frames, out_label = augment_window(frames, label, np.random.default_rng(3), (H, W), aug)
    assert out_frames.shape == (2, 24, 40, 3) and out_label.shape == (24, 40)
    x, y = out_frames[0, ..., 0].astype(int), out_frames[0, ..., 1].astype(int)
    # Same geometry on both frames, frame identity kept.
    assert np.array_equal(out_frames[0, ..., :2], out_frames[1, ..., :2])
    assert (out_frames[0, ..., 2] == 10).all() and (out_frames[1, ..., 2] == 20).all()
    # Flipped: x decreases along a row; a crop: consecutive coordinates.
    assert (np.diff(x, axis=1) == -1).all() and (np.diff(y, axis=0) == 1).all()
    # The label went through the same crop and flip.
    assert np.array_equal(out_label, (x + y + 2) % 5)


def test_padding_is_void_in_the_label_and_mean_colour_in_frames():
    seq = CodedSequence("a", 1, [0])
    aug = Augmentation(crop=(64, 96), scale=(1.0, 1.0), flip=0.0, blur=0.0)
    frames, label = augment_window(seq.window(0, 1), seq.label(0), np.random.default_rng(0), (H, W), aug,
                                   fill_bgr=(1, 2, 3))
    inside = label != 255
    assert inside.sum() == H * W  # every original pixel is somewhere in the crop
    assert (frames[0][~inside] == (1, 2, 3)).all()
    assert np.array_equal(label[inside], ((frames[0][..., 0].astype(int) + frames[0][..., 1]) % 5)[inside])


def test_random_scale_and_blur_keep_frames_and_label_aligned():
    seq = CodedSequence("a", 2, [1], 64, 128)
    aug = Augmentation(crop=(64, 96))
    for seed in range(6):
        frames, label = augment_window(seq.window(1, 2), seq.label(1), np.random.default_rng(seed), (64, 128), aug)
        # Identical geometry and blur on both frames: the coordinate channels agree exactly.
        assert np.array_equal(frames[0, ..., :2], frames[1, ..., :2])
    # Without blur, a coarse label (x // 16) resized nearest matches the bilinear x coordinate except
    # at its 7 column boundaries.
    aug = Augmentation(crop=(64, 96), blur=0.0)
    coarse = (seq.xx // 16).astype(np.uint8)
    scales = []
    for seed in range(6):
        frames, label = augment_window(seq.window(1, 1), coarse, np.random.default_rng(seed), (64, 128), aug)
        valid = label != 255
        decoded = frames[0, ..., 0].astype(int) // 16
        assert (decoded[valid] == label[valid]).mean() > 0.9
        scales.append(valid.sum())
    assert len(set(scales)) > 1  # the scale did vary


def test_draws_depend_on_seed_epoch_and_index_only():
    data = coded_dataset(CodedSequence("a", 6, list(range(6)), 64, 128))
    ds = WindowDataset(data, 1, 2, (64, 128), Augmentation(crop=(32, 64)), seed=7)
    first = [ds[i] for i in range(3)]
    again = WindowDataset(data, 1, 2, (64, 128), Augmentation(crop=(32, 64)), seed=7)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, [again[i] for i in range(3)]))
    ds.set_epoch(1)
    assert not all(torch.equal(a[0], ds[i][0]) for i, a in enumerate(first))


def test_no_augmentation_resizes_to_the_base_size():
    data = coded_dataset(CodedSequence("a", 2, [1], 64, 128))
    frames, label = WindowDataset(data, 0, 1, (32, 64), NO_AUGMENTATION)[0]
    assert frames.shape == (1, 32, 64, 3) and label.shape == (32, 64)


def test_normalise_matches_the_deploy_wrapper_bit_for_bit():
    card = ModelCard("swiftnet-r18", 5, tuple("abcde"), ((0, 0, 0),) * 5, window=2, input_size=(32, 64))
    wrapper = DeployWrapper(build_model("swiftnet-r18", 5, 2), card)
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 2, 32, 64, 3), dtype=np.uint8))
    batch = normalise(frames, card.mean, card.std)
    assert batch.shape == (3, 6, 32, 64)
    for n in range(3):
        assert torch.equal(batch[n : n + 1], wrapper.preprocess(frames[n]))
    # Channel order: RGB of the oldest frame first.
    expected = (frames[0, 0, ..., 2].float() / 255 - 0.485) / 0.229
    assert torch.allclose(batch[0, 0], expected, atol=1e-5)


def test_deploy_wrapper_sits_on_the_models_device():
    # The meta device stands for CUDA on a CPU machine: mixing it with CPU buffers raises.
    card = ModelCard("swiftnet-r18", 5, tuple("abcde"), ((0, 0, 0),) * 5, window=1, input_size=(32, 64))
    wrapper = deploy_wrapper(build_model("swiftnet-r18", 5, 1).to("meta"), card)
    assert wrapper.scale.device.type == "meta" and wrapper.shift.device.type == "meta"
    assert not wrapper.training and wrapper.output == "labels"
    labels = wrapper(torch.zeros((1, 32, 64, 3), dtype=torch.uint8, device="meta"))
    assert labels.shape == (32, 64) and labels.dtype == torch.uint8
