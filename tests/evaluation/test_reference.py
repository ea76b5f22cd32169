"""Reference labels: made once per reference and footage, cached atomically, keyed by content."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from flame.evaluation.reference import KEY_FILE, Reference, reference_labels
from flame.media import open_footage


def footage_of(tmp_path, count=6, name="frames"):
    folder = tmp_path / name
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((20, 30, 3), 20 * i, np.uint8))
    return open_footage(frames=folder, fps=10)


class Counting:
    """Labels each window by its newest frame's level, remembering every window it saw."""

    def __init__(self, fail_at: int | None = None):
        self.windows: list[np.ndarray] = []
        self.fail_at = fail_at

    def __call__(self, frames):
        if self.fail_at is not None and len(self.windows) == self.fail_at:
            raise KeyboardInterrupt
        self.windows.append(frames)
        return np.full(frames.shape[1:3], frames[-1, 0, 0, 0] // 20, np.uint8)


def reference(key="abc", window=1):
    return Reference("teacher", "teacher.onnx", key, window, (10, 15))


def test_labels_are_made_once_then_read_from_the_cache(tmp_path):
    footage = footage_of(tmp_path)
    labeler = Counting()
    seen = []
    labels, folder, reused = reference_labels(footage, labeler, reference(), tmp_path / "cache",
                                              lambda done, total: seen.append((done, total)))
    assert not reused and len(labeler.windows) == 6 and seen[-1] == (6, 6)
    assert labels.shape == (6, 10, 15) and [int(label[0, 0]) for label in labels] == list(range(6))
    assert all(window.shape == (1, 10, 15, 3) for window in labeler.windows)  # resized to the reference's input
    again = Counting()
    cached, folder2, reused = reference_labels(footage, again, reference(), tmp_path / "cache")
    assert reused and folder2 == folder and not again.windows
    np.testing.assert_array_equal(cached, labels)


def test_the_key_follows_the_reference_and_the_footage(tmp_path):
    footage = footage_of(tmp_path)
    _, first, _ = reference_labels(footage, Counting(), reference("abc"), tmp_path / "cache")
    _, other_engine, reused = reference_labels(footage, Counting(), reference("def"), tmp_path / "cache")
    assert other_engine != first and not reused
    other = footage_of(tmp_path, 5, "other")
    _, other_footage, reused = reference_labels(other, Counting(), reference("abc"), tmp_path / "cache")
    assert other_footage not in (first, other_engine) and not reused


def test_a_two_frame_reference_gets_the_previous_frame_and_the_first_is_padded(tmp_path):
    footage = footage_of(tmp_path, 3)
    labeler = Counting()
    reference_labels(footage, labeler, reference(window=2), tmp_path / "cache")
    levels = [[int(frame[0, 0, 0]) for frame in window] for window in labeler.windows]
    assert levels == [[0, 0], [0, 20], [20, 40]]


def test_an_interrupted_run_leaves_no_cache(tmp_path):
    footage = footage_of(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        reference_labels(footage, Counting(fail_at=3), reference(), tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # neither a finished cache nor its staging folder
    labeler = Counting()
    _, folder, reused = reference_labels(footage, labeler, reference(), tmp_path / "cache")
    assert not reused and len(labeler.windows) == 6 and (folder / KEY_FILE).is_file()
