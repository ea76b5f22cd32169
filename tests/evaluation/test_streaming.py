"""The one-engine streaming simulation, against hand-worked schedules (d = 1 s)."""

import numpy as np
import pytest

from flame.core.errors import ConfigError
from flame.evaluation.streaming import LatencyCycle, assign, schedule

TIMES = np.arange(8, dtype=float)  # 1 fps: frame i arrives at t = i


def frames_of(jobs):
    return [job.frame for job in jobs]


def test_latency_below_interval_processes_every_frame_and_lags_one_frame():
    jobs = schedule(TIMES, LatencyCycle([0.5]))
    assert frames_of(jobs) == list(range(8))
    assert assign(TIMES, jobs, [0, 1, 5]) == {0: None, 1: 0, 5: 4}


def test_latency_equal_to_interval_is_in_time_for_the_next_frame():
    jobs = schedule(TIMES, LatencyCycle([1.0]))
    assert frames_of(jobs) == list(range(8))
    assert assign(TIMES, jobs, [1, 2, 7]) == {1: 0, 2: 1, 7: 6}  # same as FLAME with k = 1


def test_latency_above_interval_drops_frames():
    # 0:[0,1.5]  1:[1.5,3]  3:[3,4.5]  4:[4.5,6]  6:[6,7.5]  7:[7.5,9]; frames 2 and 5 dropped
    jobs = schedule(TIMES, LatencyCycle([1.5]))
    assert frames_of(jobs) == [0, 1, 3, 4, 6, 7]
    assert [job.finish for job in jobs] == [1.5, 3.0, 4.5, 6.0, 7.5, 9.0]
    assert assign(TIMES, jobs, range(8)) == {0: None, 1: None, 2: 0, 3: 1, 4: 1, 5: 3, 6: 4, 7: 4}


def test_jitter_uses_latencies_in_order_and_cycles():
    # 0:[0,0.2]  1:[1,2.7]  2:[2.7,2.9]  3:[3,4.7]  4:[4.7,4.9]  5:[5,6.7] ...
    jobs = schedule(TIMES, LatencyCycle([0.2, 1.7]), until=5.0)
    assert frames_of(jobs) == [0, 1, 2, 3, 4, 5]
    assert assign(TIMES, jobs, [2, 3, 5]) == {2: 0, 3: 2, 5: 4}


def test_engine_waits_for_the_first_frame_with_enough_history():
    jobs = schedule(TIMES, LatencyCycle([0.5]), first=1)
    assert jobs[0].frame == 1 and jobs[0].start == 1.0
    assert assign(TIMES, jobs, [1, 2]) == {1: None, 2: 1}


def test_per_frame_timestamps():
    times = np.array([0.0, 0.1, 0.5, 0.6])
    jobs = schedule(times, LatencyCycle([0.3]))
    # 0:[0,0.3]  at 0.3 newest is 1 -> [0.3,0.6]  at 0.6 newest is 3 -> [0.6,0.9]; frame 2 dropped
    assert frames_of(jobs) == [0, 1, 3]
    assert assign(times, jobs, [2, 3]) == {2: 0, 3: 1}


@pytest.mark.parametrize("values", [[], [-0.1], [float("nan")]])
def test_bad_latencies(values):
    with pytest.raises(ConfigError):
        LatencyCycle(values)
