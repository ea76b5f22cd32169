"""FLAME, static mIoU and streaming FLAME over small hand-computed sequences."""

import numpy as np
import pytest

from flame.core.errors import ConfigError, DataError
from flame.evaluation.datasets import ArraySequence, SequenceDataset, default_palette, load_folder, write_synthetic
from flame.evaluation.datasets.synthetic import SyntheticSpec
from flame.evaluation.predictions import PredictionFiles
from flame.evaluation.protocols import PredictorSource, evaluate, flame, static_miou, streaming_flame


def frames_from_labels(labels: np.ndarray) -> np.ndarray:
    """Frames that carry their own label in channel 0, so a predictor can 'see' the truth."""
    return np.repeat(labels[..., None], 3, axis=-1).astype(np.uint8)


def oracle(frames: np.ndarray) -> np.ndarray:
    """Predicts the label of the newest input frame."""
    return frames[-1, :, :, 0].copy()


# A 1x4 world with a 'class 1' object moving right one pixel per frame.
LABELS = np.array([[[1, 0, 0, 0]], [[0, 1, 0, 0]], [[0, 0, 1, 0]]], np.uint8)


def dataset(labels=LABELS, fps=1.0, **kwargs) -> SequenceDataset:
    seq = ArraySequence("s", frames_from_labels(labels), labels, fps, **kwargs)
    return SequenceDataset("toy", ["bg", "obj"], default_palette(2), [seq], fps)


def test_static_miou_of_the_truth_is_one():
    score = static_miou(dataset(), PredictorSource(oracle))
    assert score.miou == 1.0 and score.pairs == 3 and score.missed == 0


def test_flame_k1_hand_computed_with_a_miss():
    # j=0: no history -> miss (3 bg + 1 obj false negatives)
    # j=1: pred S0 vs S1 -> bg TP2 FP1 FN1, obj TP0 FP1 FN1;  j=2: the same again
    # bg: TP 4, FP 2, FN 5 -> 4/11;  obj: TP 0 -> 0;  FLAME = 2/11
    score = flame(dataset(), PredictorSource(oracle), k=1)
    np.testing.assert_allclose(score.confusion.iou(), [4 / 11, 0.0])
    assert score.miou == pytest.approx(2 / 11)
    assert (score.pairs, score.missed) == (3, 1)


def test_two_frame_window_needs_history_even_at_k0():
    score = static_miou(dataset(), PredictorSource(oracle, window=2))
    assert (score.pairs, score.missed) == (3, 1)
    np.testing.assert_allclose(score.confusion.iou(), [6 / 9, 2 / 3])


def test_streaming_with_latency_equal_to_interval_equals_flame_k1():
    source = PredictorSource(oracle)
    stream = streaming_flame(dataset(), source, [1.0])
    assert stream.miou == pytest.approx(2 / 11)
    assert (stream.pairs, stream.missed, stream.dropped) == (3, 1, 0)
    assert stream.delays == [1, 1]


def test_streaming_charges_for_dropped_frames():
    labels = np.zeros((5, 1, 8), np.uint8)
    for i in range(5):
        labels[i, 0, i:i + 3] = 1  # 3 pixels wide: overlap shrinks as the delay grows
    data = dataset(labels)
    # latency 1.5 s at 1 fps: runs start on 0 (t=0), 1 (1.5), 3 (3); frame 2 dropped
    # j: 0 none, 1 none, 2 <- 0, 3 <- 1, 4 <- 1   (FLAME k=2 would use 0, 1, 2)
    stream = streaming_flame(data, PredictorSource(oracle), [1.5])
    assert (stream.missed, stream.processed, stream.dropped) == (2, 3, 1)
    assert stream.delays == [2, 2, 3]
    assert stream.miou < flame(data, PredictorSource(oracle), k=2).miou


def test_only_needed_frames_are_predicted_once():
    calls = []

    def counting(frames):
        calls.append(int(frames[-1, 0, :, 0].argmax()))
        return oracle(frames)

    labels = np.zeros((6, 1, 8), np.uint8)
    for i in range(6):
        labels[i, 0, i] = 1
    seq = ArraySequence("s", frames_from_labels(labels), {4: labels[4], 5: labels[5]}, 1.0)
    data = SequenceDataset("toy", ["bg", "obj"], default_palette(2), [seq], 1.0)
    result = evaluate(data, PredictorSource(counting), offsets=(0, 1, 2), latencies_s=[0.5])
    assert sorted(calls) == [2, 3, 4, 5]  # frames j-k for j in {4, 5}, k in {0, 1, 2}; streaming reuses them
    assert result.flame[0].miou == 1.0
    assert result.flame[1].pairs == 2 and result.streaming.pairs == 2


def test_flame_falls_as_k_grows_on_the_moving_synthetic_video(tmp_path):
    root = write_synthetic(SyntheticSpec(size=(64, 128), frames=12, sequences=1, val_sequences=1), tmp_path / "syn")
    data = load_folder(root, "val")

    def truth(frames):  # ground truth of the newest frame: look the frame up by content
        for i in range(data.sequences[0].num_frames):
            if np.array_equal(data.sequences[0].frame(i), frames[-1]):
                return data.sequences[0].label(i)
        raise AssertionError("frame not found")

    result = evaluate(data, PredictorSource(truth), offsets=(0, 1, 2, 4))
    values = [result.flame[k].miou for k in (0, 1, 2, 4)]
    assert values[0] == 1.0
    assert values[0] > values[1] > values[2] > values[3]


def test_predictor_resizing_to_its_input_size():
    labels = np.zeros((2, 4, 8), np.uint8)
    labels[:, :, 4:] = 1
    seen = []

    def small(frames):
        seen.append(frames.shape)
        return frames[-1, :, :, 0]

    score = static_miou(dataset(labels), PredictorSource(small, input_size=(2, 4)))
    assert seen[0] == (1, 2, 4, 3) and score.miou == 1.0


def test_prediction_files_and_missing_ones(tmp_path):
    import cv2

    (tmp_path / "s").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "s" / f"{i:06d}.png"), LABELS[i])
    assert flame(dataset(), PredictionFiles(tmp_path), k=1).miou == pytest.approx(2 / 11)
    (tmp_path / "s" / "000000.png").unlink()
    with pytest.raises(DataError, match="1 predictions are missing.*s/000000.png"):
        static_miou(dataset(), PredictionFiles(tmp_path))


def test_bad_arguments():
    with pytest.raises(ConfigError):
        evaluate(dataset(), PredictorSource(oracle), offsets=(-1,))
    empty = SequenceDataset("empty", ["a"], default_palette(1), [], 1.0)
    with pytest.raises(DataError, match="no annotated frames"):
        static_miou(empty, PredictorSource(oracle))
    with pytest.raises(DataError, match="differs from label size"):
        static_miou(dataset(), PredictorSource(lambda f: np.zeros((2, 2), np.uint8)))


def test_a_per_target_source_is_asked_once_per_pair_for_the_frame_that_uses_it():
    from flame.evaluation.protocols import PredictionSource

    class ShiftToTarget(PredictionSource):
        """Moves the object of frame i's truth right by (target - i): a perfect forecast on LABELS."""

        per_target = True

        def __init__(self):
            self.calls = []

        def predict(self, sequence, index):
            return sequence.label(index)

        def predict_for(self, sequence, index, target):
            self.calls.append((index, target))
            return np.roll(sequence.label(index), target - index, axis=1)

    source = ShiftToTarget()
    result = evaluate(dataset(), source, (0, 1), latencies_s=[1.0])
    # FLAME at k = 1 with a perfect forecast: every pair is right, j = 0 is still a miss.
    assert result.flame[1].pairs == 3 and result.flame[1].missed == 1
    assert result.flame[1].confusion.matrix[1, 1] == 2 and result.flame[1].confusion.matrix[0, 1] == 0
    # k = 0 pairs (j, j), k = 1 pairs (j - 1, j); streaming at 1 s per frame uses the same ones: one call each.
    assert sorted(source.calls) == [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2)]
