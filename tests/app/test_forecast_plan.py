"""A forecast plan serves many scoring runs in any order: each run's fallbacks are its own."""

import numpy as np

from flame.apps.forecast import Forecasting, score_forecast
from flame.core.latency import Latency
from flame.evaluation.datasets import ArraySequence, SequenceDataset, default_palette
from flame.evaluation.protocols import PredictorSource
from flame.runtime.forecast import Forecast

# A 1x4 world with an object moving right one pixel per frame; frames carry their label in channel 0.
LABELS = np.array([[[1, 0, 0, 0]], [[0, 1, 0, 0]], [[0, 0, 1, 0]]], np.uint8)


def toy(sequences: int) -> SequenceDataset:
    frames = np.repeat(LABELS[..., None], 3, axis=-1)
    seqs = [ArraySequence(f"s{i}", frames, LABELS, 1.0) for i in range(sequences)]
    return SequenceDataset("toy", ["bg", "obj"], default_palette(2), seqs, 1.0)


class Keep:
    """The labels as they are; a fallback when there is no earlier frame."""

    name = "keep"

    def __call__(self, labels, image, previous, interval_s, horizon_s):
        return Forecast(labels, self.name, None if previous is not None else "no earlier frame")


def test_the_forecast_block_counts_each_runs_own_fallbacks_whatever_the_order():
    plan = Forecasting("keep", Keep(), np.array([2.0, 4.0, 9.0]))
    assert plan.report() == {"method": "keep", "cost_ms": plan.report()["cost_ms"], "fallbacks": 0}
    assert plan.report()["cost_ms"]["p50"] == 4.0
    source = PredictorSource(lambda frames: frames[-1, :, :, 0].copy())
    # 996 ms + the 4 ms charge is k = 1 at 1 fps: frame 1 is scored with frame 0's labels, forecast without
    # an earlier frame (one fallback per sequence); frame 2 with frame 1's, which has one.
    one = score_forecast(toy(1), source, Latency.fixed(996.0), plan, streaming=False)
    two = score_forecast(toy(2), source, Latency.fixed(996.0), plan, streaming=False)
    assert one.k == two.k == 1 and one.latency_ms["forecast_ms"] == 4.0
    assert (one.forecast["fallbacks"], two.forecast["fallbacks"]) == (1, 2)
    assert plan.report()["fallbacks"] == 0  # the plan keeps no run's state
