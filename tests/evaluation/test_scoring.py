"""One scoring path: files and predictors, every latency reported as one dict."""

import dataclasses

import cv2
import numpy as np
import pytest

from flame.core.errors import ConfigError
from flame.evaluation.predictions import evaluate_predictions
from flame.evaluation.protocols import PredictorSource
from flame.evaluation.scoring import Latency, check_stat, fixed_latency, score

from test_protocols import LABELS, dataset, oracle

LATENCY_KEYS = {"mean", "p50", "p90", "p99", "max", "count", "used", "value", "extra_ms", "forecast_ms", "source"}


def test_fixed_and_zero_latency_are_dicts():
    zero = fixed_latency().report()
    assert set(zero) == LATENCY_KEYS
    assert (zero["value"], zero["p50"], zero["count"], zero["used"], zero["source"]) == (0.0, 0.0, 1, "fixed", "fixed")
    fixed = fixed_latency(30.0, extra_ms=5).report()
    assert (fixed["value"], fixed["p50"], fixed["extra_ms"]) == (35.0, 30.0, 5.0)  # the extra delay is in value only
    samples = Latency(np.array([10.0, 20.0, 60.0]), "p90", 2.0, "measured").report()
    # p90 of 10, 20, 60 (linear): rank 1.8 -> 20 + 0.8 * 40 = 52; plus the 2 ms delay
    assert samples["value"] == pytest.approx(52.0 + 2.0) and samples["max"] == 60.0 and samples["count"] == 3
    with pytest.raises(ConfigError, match="latency_ms >= 0"):
        fixed_latency(-1.0)
    with pytest.raises(ConfigError, match="extra_ms >= 0") as caught:
        fixed_latency(1.0, extra_ms=float("nan"))
    assert caught.value.parameter == "extra_ms"
    with pytest.raises(ConfigError, match="unknown latency statistic 'p42' for stat"):
        check_stat("p42")


def test_files_and_predictor_take_the_same_path(tmp_path):
    (tmp_path / "s").mkdir()
    for i in range(3):  # the oracle's predictions, written as files
        cv2.imwrite(str(tmp_path / "s" / f"{i:06d}.png"), LABELS[i])
    latency = fixed_latency(1000.0)  # 1 s at 1 fps: k = 1
    from_files = evaluate_predictions(dataset(), tmp_path, latency)
    from_predictor = score(dataset(), PredictorSource(oracle), latency)
    assert from_files.predictions == str(tmp_path)
    assert dataclasses.replace(from_files, predictions=None) == from_predictor
    # Hand-computed in test_protocols: FLAME at k = 1 is 2/11, static mIoU 1, streaming with 1 s per frame 2/11.
    assert from_files.k == 1 and from_files.flame == pytest.approx(2 / 11) and from_files.miou == 1.0
    assert from_files.streaming_flame == pytest.approx(2 / 11)
    assert from_files.latency_ms == latency.report()
    assert evaluate_predictions(dataset(), tmp_path, 1000.0) == from_files  # ms


def test_predictions_default_to_static(tmp_path):
    (tmp_path / "s").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "s" / f"{i:06d}.png"), LABELS[i])
    report = evaluate_predictions(dataset(), tmp_path, streaming=False)
    assert report.k == 0 and report.flame == report.miou == 1.0 and report.streaming_flame is None
    assert report.latency_ms["value"] == 0.0 and report.latency_ms["used"] == "fixed"


def test_the_evaluation_report_writes_and_reads_its_versioned_json(tmp_path):
    import json

    from flame.core.errors import DataError
    from flame.evaluation.report import EvalReport

    (tmp_path / "s").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "s" / f"{i:06d}.png"), LABELS[i])
    report = evaluate_predictions(dataset(), tmp_path, 1000.0)
    path = report.write(tmp_path / "r.json")
    raw = json.loads(path.read_text())
    assert (raw["report"], raw["version"], raw["predictions"]) == ("flame-eval", 1, str(tmp_path))
    # Unset optional blocks stay out of the JSON, as before the report was a type.
    assert not {"engine", "machine", "card", "forecast"} & set(raw)
    assert EvalReport.read(path) == report
    # A file written before the version keys: the same fields.
    del raw["report"], raw["version"]
    (tmp_path / "old.json").write_text(json.dumps(raw))
    assert EvalReport.read(tmp_path / "old.json") == report
    (tmp_path / "run.json").write_text('{"report": "flame-run", "version": 1}')
    with pytest.raises(DataError, match="not a flame-eval report"):
        EvalReport.read(tmp_path / "run.json")
