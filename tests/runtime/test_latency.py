"""Latency summary and k at a frame rate (flame.core.latency)."""

from __future__ import annotations

import numpy as np
import pytest

from flame.core.errors import ConfigError
from flame.core.latency import summarize


def test_summary_matches_hand_computed_percentiles():
    samples = [10.0, 20.0, 30.0, 40.0, 100.0]
    s = summarize(samples)
    assert s["count"] == 5
    assert s["mean"] == pytest.approx(40.0)
    assert s["p50"] == pytest.approx(30.0)
    # numpy's linear interpolation: p90 sits 0.6 of the way from 40 to 100.
    assert s["p90"] == pytest.approx(76.0)
    assert s["p99"] == pytest.approx(97.6)
    assert s["max"] == 100.0 and s["min"] == 10.0


def test_summary_accepts_arrays_and_generators():
    assert summarize(np.array([5.0, 7.0]))["p50"] == pytest.approx(6.0)
    assert summarize(x for x in (1.0, 3.0))["mean"] == pytest.approx(2.0)


def test_summary_of_nothing_is_explicitly_empty():
    s = summarize([])
    assert s["count"] == 0
    assert all(s[k] is None for k in ("mean", "p50", "p90", "p99", "max"))


@pytest.mark.parametrize("bad", [[-1.0], [float("nan")], [float("inf")]])
def test_summary_refuses_impossible_samples(bad):
    with pytest.raises(ConfigError):
        summarize(bad)
