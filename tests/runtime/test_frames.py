"""The frame ring and the two-frame window lookup (flame.runtime.frames)."""

from __future__ import annotations

import threading
import time

import numpy as np

from flame.runtime.frames import Frame, FrameRing, history_needed, pick_previous, pick_window

_IMG = np.zeros((2, 2, 3), np.uint8)


def frames_at(indices, fps=30.0):
    return [Frame(_IMG, i, int(i * 1e9 / fps), i / fps) for i in indices]


def test_previous_is_one_training_interval_back_not_the_last_processed():
    # Source 30 fps, model trained at 15 fps: I_{t-1} is two source frames back.
    ring = frames_at([4, 5, 6, 7, 8, 9, 10])
    assert pick_previous(ring, 1 / 15).index == 8


def test_previous_with_dropped_frames_takes_the_nearest_in_time():
    # Frames 6 and 8 never reached the ring (dropped by the grabber): target is 8,
    # nearest are 7 and 9; 9 is 1/30 s off, 7 too - the tie goes to the older.
    ring = frames_at([5, 7, 9, 10])
    assert pick_previous(ring, 1 / 15).index == 7
    # A training interval of 1/10 s from frame 10 targets frame 7 exactly.
    assert pick_previous(frames_at([5, 6, 7, 9, 10]), 1 / 10).index == 7


def test_previous_never_picks_the_newest_itself():
    ring = frames_at([3])
    assert pick_previous(ring, 1 / 30) is None
    assert pick_previous(frames_at([2, 3]), 1.0).index == 2  # far off, but the only older frame


def test_window_pads_at_the_start_and_counts_it():
    chosen, padded = pick_window(frames_at([0]), 2, 1 / 30)
    assert [f.index for f in chosen] == [0, 0] and padded == 1
    chosen, padded = pick_window(frames_at([0, 1, 2, 3, 4]), 3, 1 / 15)
    assert [f.index for f in chosen] == [0, 2, 4] and padded == 0


def test_history_covers_the_window_reach():
    assert history_needed(1, 17.0, 30.0) == 2
    # 30 fps source, 17 fps model: ~1.8 frames back, plus slack.
    assert history_needed(2, 17.0, 30.0) == 5
    assert history_needed(2, 5.0, 10.0) == 5
    assert history_needed(2, 17.0, None) >= 7  # unknown fps: assume up to 60 fps


def test_ring_keeps_the_newest_and_wakes_a_reader():
    ring = FrameRing(3)
    for f in frames_at(range(5)):
        ring.push(f)
    taken = ring.newest_after(-1, timeout_s=0.1)
    assert taken.frame.index == 4 and [f.index for f in taken.recent] == [2, 3, 4]
    assert ring.pushed == 5
    assert ring.newest_after(4, timeout_s=0.05) is None  # nothing newer: times out

    def later():
        time.sleep(0.05)
        ring.push(frames_at([5])[0])

    threading.Thread(target=later).start()
    assert ring.newest_after(4, timeout_s=5.0).frame.index == 5
    ring.close()
    assert ring.newest_after(5, timeout_s=5.0) is None  # closed: returns at once
