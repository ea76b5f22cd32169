"""FLAME on real frame times: frame j pairs with the newest frame whose output is ready at t_j."""

from __future__ import annotations

import numpy as np

from flame.evaluation.datasets.base import ArraySequence, SequenceDataset
from flame.evaluation.protocols import PredictionSource, evaluate, pairs_at_offset


def test_even_times_pair_j_with_j_minus_k():
    times = np.arange(10) / 30.0
    for k in range(4):
        pairs = pairs_at_offset(times, list(range(10)), k, 30.0)
        assert pairs == {j: (j - k if j >= k else None) for j in range(10)}


def test_jittered_times_and_a_dropped_frame_by_hand():
    # 10 fps nominal. Frame 3 came 20 ms late, and the frame after frame 5 was dropped (200 ms gap).
    times = np.array([0.0, 0.1, 0.2, 0.32, 0.4, 0.5, 0.7, 0.8])
    pairs = pairs_at_offset(times, list(range(8)), 1, 10.0)
    # j=3 (0.32): newest frame by 0.22 is frame 2; j=4 (0.40): by 0.30, frame 2 (frame 3 came at 0.32);
    # j=6 (0.70): by 0.60, frame 5 (0.50); j=7 (0.80): by 0.70, frame 6.
    assert pairs == {0: None, 1: 0, 2: 1, 3: 2, 4: 2, 5: 4, 6: 5, 7: 6}
    pairs = pairs_at_offset(times, [4, 6, 7], 2, 10.0)
    # by 0.20 -> frame 2; by 0.50 -> frame 5; by 0.60 -> frame 5.
    assert pairs == {4: 2, 6: 5, 7: 5}
    # A two-frame model needs one frame before: frame 0 cannot be an input.
    assert pairs_at_offset(times, [1, 2], 1, 10.0, history=1) == {1: None, 2: 1}


class Echo(PredictionSource):
    """Predicts the label of the frame it is given: a perfect static segmenter."""

    def __init__(self, sequence):
        self.sequence = sequence

    def predict(self, sequence, index):
        return sequence.label(index)


def test_flame_uses_the_real_times():
    # Each frame's label is all one class: its index. A perfect static model then scores, at k = 1,
    # IoU 0 on every pair whose partner is another frame, and the pairing decides which are.
    times = np.array([0.0, 0.1, 0.2, 0.32, 0.4])
    labels = np.stack([np.full((2, 2), i, np.uint8) for i in range(5)])
    frames = np.zeros((5, 2, 2, 3), np.uint8)
    sequence = ArraySequence("s", frames, labels, fps=10.0, timestamps=times)
    dataset = SequenceDataset("d", [str(i) for i in range(5)], np.zeros((5, 3), np.uint8), [sequence], 10.0)
    result = evaluate(dataset, Echo(sequence), offsets=(0, 1))
    assert result.flame[0].miou == 1.0
    # k = 1: pairs 1<-0, 2<-1, 3<-2, 4<-2 (frame 3 came late), 0 missed: 5 pairs, 1 miss, every pair wrong.
    assert result.flame[1].pairs == 5 and result.flame[1].missed == 1
    confusion = result.flame[1].confusion.matrix
    assert confusion[4, 2] == 4 and confusion[3, 2] == 4 and confusion[4, 3] == 0
