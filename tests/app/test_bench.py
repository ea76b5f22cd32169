"""flame-bench: one row per format with status, size, latency, mIoU, FLAME and agreement."""

import json

import pytest
from click.testing import CliRunner

from flame.apps.bench_rows import parse_formats
from flame.cli.bench import main as bench_main
from flame.core.errors import ConfigError
from flame.core.offsets import frame_offset


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


def test_bench_sizes_formats_best_and_plot(tiny_data, tiny_checkpoint, tmp_path):
    plot = tmp_path / "choice.png"
    result = CliRunner().invoke(bench_main, [str(tiny_checkpoint), "--formats", "torch,onnx,onnx-int8",
                                             "--sizes", "32x64,64x128", "--dataset", "folder",
                                             "--data-root", str(tiny_data), "--latency-samples", "6", "--warmup", "1",
                                             "--no-streaming", "--out-dir", str(tmp_path / "a"),
                                             "--json", str(tmp_path / "b.json"), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    pairs = [(row["format"], tuple(row["size"])) for row in rows]
    assert pairs == [(f, s) for f in ("torch", "onnx", "onnx-int8") for s in ((32, 64), (64, 128))]
    assert all(row["status"] == "ok" and row["latency_p50_ms"] > 0 and 0 <= row["flame"] <= 1 for row in rows)
    best = [row for row in rows if row["best"]]
    assert len(best) == 1 and best[0]["flame"] == max(row["flame"] for row in rows)
    # Each size is its own export, checked against the PyTorch reference at that size.
    assert len({row["path"] for row in rows if row["format"] != "torch"}) == 4
    assert all(row["agreement"] >= (0.97 if row["format"] == "onnx-int8" else 0.999) for row in rows)
    for size in ((32, 64), (64, 128)):
        by_format = {row["format"]: row for row in rows if tuple(row["size"]) == size}
        assert by_format["onnx"]["miou"] == pytest.approx(by_format["torch"]["miou"], abs=1e-9)
    assert "onnx-int8" in result.output and "32x64" in result.output and "the one to deploy" in result.output
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_latency_scale_halves_every_latency(tiny_data, tiny_checkpoint, tmp_path):
    result = CliRunner().invoke(bench_main, [str(tiny_checkpoint), "--formats", "torch,onnx", "--latency-scale",
                                             "0.5", "--dataset", "folder", "--data-root", str(tiny_data),
                                             "--latency-samples", "6", "--warmup", "1", "--out-dir",
                                             str(tmp_path / "a"), "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 0, result.output
    assert "latencies scaled x 0.5" in result.output
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["latency_scale"] == 0.5
    for row in report["rows"]:
        measured, used = row["extra"]["measured_latency_ms"], row["extra"]["latency_ms"]
        for stat in ("mean", "p50", "p90", "p99", "max"):
            assert used[stat] == pytest.approx(0.5 * measured[stat], rel=1e-12)
        assert row["latency_p50_ms"] == pytest.approx(0.5 * measured["p50"], rel=1e-12)
        assert row["k"] == frame_offset(used["value"] / 1000.0, report["fps"]) <= row["extra"]["measured_k"]


def test_scaled_latency_lowers_k(tiny_data, tiny_onnx):
    from flame.apps.assess import assess, fixed_latency
    from flame.apps.bench import scaled
    from flame.evaluation.datasets import open_dataset
    from flame.runtime.engines import load_engine

    data = open_dataset("folder", tiny_data, "val")
    # At 30 fps 40 ms is k = 2; a device twice as fast (20 ms) has k = 1, and FLAME is scored there.
    latency = scaled(fixed_latency(40.0), 0.5)
    assert latency.value_ms == 20.0 and latency.source == "fixed x 0.5"
    with load_engine(tiny_onnx, device="cpu") as engine:
        slow = assess(engine, engine.card, data, fixed_latency(40.0), streaming=False, offsets=[1])
        fast = assess(engine, engine.card, data, latency, streaming=False)
    assert (slow.k, fast.k) == (2, 1)
    assert fast.flame == slow.flame_by_k["1"] and fast.flame != slow.flame


@pytest.mark.parametrize("args, message", [
    (["--sizes", "64x100"], "not a multiple of 32"),
    (["--sizes", "64by128"], "expected --sizes as HxW,HxW,..."),
    (["--latency-scale", "0"], "expected a positive --latency-scale, found 0.0"),
    (["--formats", "onnx-int4"], "unknown format(s)"),
])
def test_bench_bad_sizes_and_scale(tiny_checkpoint, args, message):
    result = CliRunner().invoke(bench_main, [str(tiny_checkpoint), *args])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and message in result.output, result.output


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
        from flame.apps.bench_rows import parse_forecasts

        parse_forecasts("none,magic")


@pytest.mark.parametrize("name,precision,expected", [("m.onnx", "fp32", "onnx"), ("m.onnx", "int8", "onnx-int8"),
                                                     ("m.plan", "fp16", "tensorrt-fp16"), ("m.pt2", "fp32", "pt2")])
def test_an_engine_file_is_named_by_its_kind(name, precision, expected):
    from types import SimpleNamespace
    from pathlib import Path

    from flame.apps.bench import engine_format

    # The .pt2 backend calls itself "torch", the name of the eager-checkpoint row: the file's kind decides.
    engine = SimpleNamespace(path=Path(name), backend="torch", card=SimpleNamespace(precision=precision))
    assert engine_format(engine) == expected
