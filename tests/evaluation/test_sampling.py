"""Windows drawn evenly over every window position of every sequence (calibration, bench agreement)."""

from __future__ import annotations

import numpy as np

from flame.evaluation.datasets.base import ArraySequence, SequenceDataset
from flame.evaluation.datasets.sampling import spread_windows, window_positions


def dataset(lengths):
    sequences = [ArraySequence(f"s{n}", np.stack([np.full((4, 6, 3), 10 * n + i, np.uint8) for i in range(length)]),
                               {}, 30.0) for n, length in enumerate(lengths)]
    return SequenceDataset("d", ["a"], np.zeros((1, 3), np.uint8), sequences, 30.0)


def test_positions_and_even_picks_by_hand():
    data = dataset([5, 3])
    assert window_positions(data, 2) == [(0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2)]
    # 6 positions, 3 picks at linspace(0, 5, 3) = 0, 2.5 -> 2 (round half to even), 5.
    windows = spread_windows(data, 2, (4, 6), 3)
    assert [[int(f[0, 0, 0]) for f in w] for w in windows] == [[0, 1], [2, 3], [11, 12]]
    resized = spread_windows(data, 1, (2, 3), 2)
    assert [w.shape for w in resized] == [(1, 2, 3, 3)] * 2
    assert len(spread_windows(data, 1, (4, 6), 100)) == 8 and spread_windows(data, 6, (4, 6), 3) == []
