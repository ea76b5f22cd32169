"""The one Latency: k at a frame rate and at uneven timestamps, the forecast's charge, the what-if scale."""

import numpy as np
import pytest

from flame.core.errors import ConfigError
from flame.core.latency import Latency


def test_k_from_the_statistic_the_extra_delay_and_the_forecast_charge():
    # 50 ms + 10 ms extra at 20 fps: 1.2 frames -> k = 2.
    assert Latency.fixed(50.0, extra_ms=10.0).k(20.0) == 2
    # p50 of 10, 20, 60 is 20; the forecast's p50 of 3, 5, 100 is 5: 25 ms at 40 fps is exactly 1 frame.
    charged = Latency.of_samples([10.0, 20.0, 60.0], "p50").charged(np.array([3.0, 5.0, 100.0]))
    assert charged.forecast_ms == 5.0 and charged.value_ms == 25.0 and charged.k(40.0) == 1
    assert list(charged.streaming_samples_s) == pytest.approx([0.015, 0.025, 0.065])
    # No forecast times: nothing charged.
    assert Latency.fixed(30.0).charged(np.zeros(0)).forecast_ms == 0.0
    with pytest.raises(ConfigError, match="unknown latency statistic"):
        Latency.of_samples([1.0], "p42")


def test_k_after_uneven_timestamps_is_the_first_frame_at_or_after_the_output():
    times = [0.0, 0.03, 0.05, 0.11]
    latency = Latency.fixed(50.0)
    assert latency.k_after(times, 0) == 2  # ready at 50 ms: frame 2 is at exactly 50 ms
    assert latency.k_after(times, 1) == 2  # ready at 80 ms: frame 3 (110 ms) is the first after it
    # Evenly spaced timestamps give the frame-rate k.
    even = [0.0, 0.1, 0.2, 0.3, 0.4]
    assert Latency.fixed(100.0).k_after(even, 1) == Latency.fixed(100.0).k(10.0) == 1
    assert Latency.fixed(150.0).k_after(even, 0) == Latency.fixed(150.0).k(10.0) == 2


def test_scaled_multiplies_the_samples_only():
    latency = Latency.of_samples([10.0, 30.0], "max", extra_ms=4.0, source="measured")
    half = latency.scaled(0.5)
    assert list(half.samples_ms) == [5.0, 15.0] and half.extra_ms == 4.0 and half.value_ms == 19.0
    assert half.source == "measured x 0.5" and latency.scaled(1.0) is latency
