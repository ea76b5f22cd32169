"""flame-bench: one row per format with status, size, latency, mIoU, FLAME and agreement."""

import json

import pytest
from click.testing import CliRunner

from flame.apps.bench import parse_formats
from flame.cli.bench import main as bench_main
from flame.core.errors import ConfigError


def test_bench_rows(tiny_data, tiny_checkpoint, tmp_path):
    result = CliRunner().invoke(bench_main, [str(tiny_checkpoint), "--formats", "torch,onnx,onnx-fp16,tensorrt-fp16",
                                             "--dataset", "folder", "--data-root", str(tiny_data),
                                             "--latency-samples", "8", "--warmup", "1", "--out-dir", str(tmp_path / "a"),
                                             "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    rows = {row["format"]: row for row in json.loads((tmp_path / "b.json").read_text())["rows"]}
    assert rows["torch"]["status"] == "ok" and rows["torch"]["agreement"] == 1.0
    assert rows["onnx"]["status"] == "ok" and rows["onnx"]["agreement"] >= 0.999
    assert rows["onnx-fp16"]["status"] == "ok" and rows["onnx-fp16"]["agreement"] >= 0.99
    assert rows["onnx"]["miou"] == pytest.approx(rows["torch"]["miou"], abs=1e-9)
    for name in ("torch", "onnx", "onnx-fp16"):
        row = rows[name]
        assert row["size_mb"] > 1 and row["latency_p50_ms"] > 0 and row["latency_p99_ms"] >= row["latency_p50_ms"]
        assert row["k"] >= 1 and 0 <= row["flame"] <= 1
    trt = rows["tensorrt-fp16"]
    from flame.runtime.engines.tensorrt import missing_for_tensorrt

    # Not "import tensorrt": the type stubs' folder imports as an empty namespace package.
    if missing_for_tensorrt():
        assert trt["status"] == "unavailable" and "TensorRT" in trt["why"] and trt["latency_p50_ms"] is None
        assert "tensorrt-fp16: unavailable: TensorRT cannot run here" in result.output


def test_bench_bad_input(tmp_path):
    with pytest.raises(ConfigError):
        parse_formats("onnx,tflite")
    result = CliRunner().invoke(bench_main, [str(tmp_path / "missing.pt")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_bench_forecasts_double_the_rows_on_the_same_engine(tiny_data, tiny_checkpoint, tmp_path):
    from flame.core.offsets import frame_offset

    result = CliRunner().invoke(bench_main, [str(tiny_checkpoint), "--formats", "onnx", "--forecast", "none,flow",
                                             "--dataset", "folder", "--data-root", str(tiny_data), "--no-streaming",
                                             "--latency-samples", "8", "--warmup", "1", "--out-dir", str(tmp_path / "a"),
                                             "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert [(row["format"], row["forecast"]) for row in rows] == [("onnx", "none"), ("onnx", "flow")]
    none, flow = rows
    # One engine, one set of latency samples: only the forecast differs.
    assert flow["latency_p50_ms"] == none["latency_p50_ms"] and flow["agreement"] == none["agreement"]
    assert flow["miou"] == pytest.approx(none["miou"], abs=1e-12)
    assert none["forecast_ms"] == 0 and flow["forecast_ms"] > 0
    assert flow["k"] == frame_offset((flow["latency_p50_ms"] + flow["forecast_ms"]) / 1000, 30) >= none["k"]
    assert "onnx + flow" in result.output
    with pytest.raises(ConfigError, match="unknown forecast method"):
        from flame.apps.bench import parse_forecasts

        parse_forecasts("none,magic")
