"""Confusion-matrix speed: FLAME's accumulator against the plain np.bincount approach.

Both run on one thread over the same 2048x1024 uint8 pairs (19 classes, 10 %
void), measured in the same run, and must give the same matrix. (Predictions
stay in range here: the baseline would count an out-of-range id in another
class's row, which ConfusionMatrix counts as a false negative instead.) Prints ms per
pair and the ratio. Usage: python benchmarks/metric.py [--pairs 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from flame.evaluation.confusion import ConfusionMatrix

NUM_CLASSES = 19


def baseline(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The common fast_hist: ``np.bincount(C * gt + pred)`` over valid pixels."""
    valid = gt != 255
    return np.bincount(NUM_CLASSES * gt[valid].astype(np.int64) + pred[valid], minlength=NUM_CLASSES ** 2)


def best_ms(func, pairs, repeats: int) -> float:
    """Best-of-``repeats`` mean milliseconds per pair."""
    func(*pairs[0])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for gt, pred in pairs:
            func(gt, pred)
        best = min(best, (time.perf_counter_ns() - start) / 1e6 / len(pairs))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(args.pairs):
        gt = rng.integers(0, NUM_CLASSES, (1024, 2048), dtype=np.uint8)
        gt[rng.random(gt.shape) < 0.1] = 255
        pred = rng.integers(0, NUM_CLASSES, (1024, 2048), dtype=np.uint8)
        pairs.append((gt, pred))

    cm = ConfusionMatrix(NUM_CLASSES)
    ours = best_ms(cm.update, pairs, args.repeats)
    base = best_ms(baseline, pairs, args.repeats)
    check = ConfusionMatrix(NUM_CLASSES)
    check.update(*pairs[0])
    same = np.array_equal(check.matrix.ravel(), baseline(*pairs[0]))
    print(f"2048x1024 uint8 pairs, {NUM_CLASSES} classes, one thread, best of {args.repeats} x {args.pairs} pairs")
    print(f"  np.bincount baseline : {base:7.2f} ms/pair")
    print(f"  ConfusionMatrix      : {ours:7.2f} ms/pair")
    print(f"  ratio ours/baseline  : {ours / base:7.3f}  (target <= 0.5; speed-up {base / ours:.1f}x)")
    print(f"  same matrix          : {same}")


if __name__ == "__main__":
    main()
