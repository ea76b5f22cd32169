"""flame-eval on engines and checkpoints: latency measured, fixed or from a run report; k; JSON; bad input."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from flame.apps.assess import latency_from_report, measure_latency
from flame.evaluation.scoring import Latency, fixed_latency
from flame.cli.eval import main as eval_main
from flame.core.errors import ConfigError
from flame.evaluation.datasets import load_folder
from flame.core.offsets import frame_offset
from flame.runtime.engines import load_engine


def run(args):
    result = CliRunner().invoke(eval_main, [str(a) for a in args])
    return result.exit_code, result.output


def test_measured_latency_gives_k_from_p50(tiny_data, tiny_onnx, tmp_path):
    code, output = run(["--engine", tiny_onnx, "--dataset", "folder", "--data-root", tiny_data,
                        "--latency-samples", 12, "--warmup", 2, "--json", tmp_path / "r.json", "--plot", tmp_path / "p.png"])
    assert code == 0, output
    report = json.loads((tmp_path / "r.json").read_text())
    latency = report["latency_ms"]
    assert latency["used"] == "p50" and latency["count"] == 12 and latency["source"] == "measured"
    assert latency["value"] == pytest.approx(latency["p50"])
    assert report["k"] == math.ceil(latency["p50"] * report["fps"] / 1000 - 1e-9) == frame_offset(latency["p50"] / 1000, 30)
    for key in ("miou", "flame", "streaming_flame", "k", "fps", "per_class_iou", "per_class_flame", "pairs",
                "missed", "card", "machine", "engine"):
        assert key in report, key
    for stat in ("mean", "p50", "p90", "p99", "max"):
        assert latency[stat] > 0
    assert report["card"]["window"] == 2 and report["engine"]["backend"] == "onnxruntime"
    assert set(report["flame_by_k"]) >= {"0", str(report["k"])}
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_fixed_latency_26ms_at_16_667_fps_is_k1_and_checkpoint_matches_engine(tiny_data, tiny_checkpoint,
                                                                               tiny_onnx, tmp_path):
    reports = []
    for flag, target in (("--engine", tiny_onnx), ("--checkpoint", tiny_checkpoint)):
        code, output = run([flag, target, "--dataset", "folder", "--data-root", tiny_data, "--latency", 26,
                            "--fps", 16.667, "--json", tmp_path / "r.json"])
        assert code == 0, output
        reports.append(json.loads((tmp_path / "r.json").read_text()))
    for report in reports:
        assert report["k"] == 1 and report["fps"] == pytest.approx(16.667)
        assert report["latency_ms"]["used"] == "fixed" and report["latency_ms"]["value"] == 26
    # The ONNX engine reproduces the PyTorch reference's scores exactly.
    assert reports[0]["miou"] == pytest.approx(reports[1]["miou"], abs=1e-9)
    assert reports[0]["flame"] == pytest.approx(reports[1]["flame"], abs=1e-9)


def test_latency_from_a_flame_run_report_uses_its_p50(tiny_data, tiny_onnx, tmp_path):
    frames = tiny_data / "val" / "seq000" / "frames"
    proc = subprocess.run(["flame-run", "--frames", str(frames), "--fps", "30", "--engine", str(tiny_onnx),
                           "--no-show", "--report", str(tmp_path / "run.json"), "--warmup", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    run_report = json.loads((tmp_path / "run.json").read_text())
    code, output = run(["--engine", tiny_onnx, "--dataset", "folder", "--data-root", tiny_data,
                        "--latency-from", tmp_path / "run.json", "--extra-latency-ms", 40, "--json", tmp_path / "r.json"])
    assert code == 0, output
    report = json.loads((tmp_path / "r.json").read_text())
    p50 = run_report["latency_ms"]["p50"]
    # The report keeps per-frame latencies to 0.1 microsecond.
    assert report["latency_ms"]["p50"] == pytest.approx(p50, abs=1e-3)
    assert report["latency_ms"]["value"] == pytest.approx(p50 + 40, abs=1e-3)
    assert report["k"] == frame_offset((p50 + 40) / 1000, 30)
    assert report["latency_ms"]["source"].startswith("run report")


def test_latency_choices_in_the_library(tiny_data, tiny_onnx):
    data = load_folder(tiny_data, "val")
    with load_engine(tiny_onnx) as engine:
        measured = measure_latency(engine, data, samples=25, warmup=1, stat="p90")
    assert measured.samples_ms.shape == (25,)  # cycles over the 20 frames of the data set
    assert measured.value_ms == pytest.approx(np.percentile(measured.samples_ms, 90))
    fixed = fixed_latency(30.0, extra_ms=5)
    assert fixed.value_ms == 35.0 and np.allclose(fixed.streaming_samples_s, [0.035])
    jitter = Latency(np.array([10.0, 20.0, 30.0]), "max", 0.0)
    assert jitter.value_ms == 30.0 and jitter.report()["used"] == "max"
    with pytest.raises(ConfigError):
        fixed_latency(-1)
    with pytest.raises(ConfigError, match="unknown latency statistic"):
        measure_latency(None, data, stat="median")


@pytest.mark.parametrize("case", ["classes", "short", "not-a-report", "two-sources", "garbage-engine"])
def test_bad_input_exits_2_with_one_line(case, tiny_data, tiny_onnx, tmp_path):
    args = ["--engine", tiny_onnx, "--dataset", "folder", "--data-root", tiny_data, "--latency", 10]
    expect = {}
    if case == "classes":
        meta = json.loads((tiny_data / "val" / "meta.json").read_text())
        other = tmp_path / "other"
        import shutil
        shutil.copytree(tiny_data / "val", other)
        meta["classes"] = meta["classes"] + ["extra"]
        meta.pop("palette")
        (other / "meta.json").write_text(json.dumps(meta))
        args[5], expect = other, "predicts 5 classes"
    elif case == "short":
        args[-1], expect = 1000, "too short for k = 30"
    elif case == "not-a-report":
        (tmp_path / "x.json").write_text('{"hello": 1}')
        args = args[:-2] + ["--latency-from", tmp_path / "x.json"]
        expect = "not a flame-run report"
    elif case == "two-sources":
        args += ["--predictions", tmp_path]
        expect = "exactly one of"
    else:
        (tmp_path / "g.onnx").write_bytes(b"\x00garbage" * 50)
        args[1], expect = tmp_path / "g.onnx", "not a loadable ONNX model"
    code, output = run(args)
    assert code == 2, output
    assert expect in output and "Traceback" not in output
    assert len([line for line in output.splitlines() if line.startswith("error:")]) == 1


def test_flame_eval_engine_as_a_subprocess(tiny_data, tiny_onnx):
    proc = subprocess.run([sys.executable, "-m", "flame.cli.eval", "--engine", str(tiny_onnx), "--dataset", "folder",
                           "--data-root", str(tiny_data), "--latency-samples", "5", "--no-streaming"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "FLAME (k=" in proc.stdout and "static mIoU" in proc.stdout


def test_a_logits_export_scores_and_streams_like_the_labels_export(tiny_data, tiny_checkpoint, tiny_onnx, tmp_path):
    from flame.export.exporter import export_checkpoint

    exported = export_checkpoint(tiny_checkpoint, tmp_path / "logits.onnx", "onnx", output="logits", windows=2)
    assert exported.card.output == "logits"
    assert exported.parity is not None and exported.parity.agreement >= 0.999
    reports = []
    for engine in (tiny_onnx, exported.path):
        code, output = run(["--engine", engine, "--dataset", "folder", "--data-root", tiny_data, "--latency", 26,
                            "--fps", 16.667, "--json", tmp_path / "r.json"])
        assert code == 0, output
        reports.append(json.loads((tmp_path / "r.json").read_text()))
    assert reports[1]["card"]["output"] == "logits"
    # The engine's host argmax gives exactly the labels the labels graph computes inside (FP32 both).
    assert reports[1]["miou"] == pytest.approx(reports[0]["miou"], abs=1e-9)
    assert reports[1]["flame"] == pytest.approx(reports[0]["flame"], abs=1e-9)
    frames = tiny_data / "val" / "seq000" / "frames"
    proc = subprocess.run(["flame-run", "--frames", str(frames), "--fps", "30", "--engine", str(exported.path),
                           "--no-show", "--report", str(tmp_path / "run.json"), "--warmup", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    run_report = json.loads((tmp_path / "run.json").read_text())
    assert run_report["frames_processed"] == 10 and run_report["card"]["output"] == "logits"


def _report_from_another_model(path, card, latency_ms=250.0, frames=6):
    """A flame-run report of ``frames`` frames at ``latency_ms`` each, measured on a model with ``card``."""
    from flame.runtime.run_report import build_run_report, write_run_report
    from flame.runtime.stream_result import RunResult

    result = RunResult(window=card.window, train_fps=card.fps, source_fps=30.0, started_ns=0,
                       ended_ns=frames * 100_000_000, frames_captured=frames, end_reason="end of source")
    step, lat = 100_000_000, int(latency_ms * 1e6)
    for i in range(frames):
        result.record(i, i * step, i * step, i * step + lat, lat - 1_000_000)
    report = build_run_report(result)
    report.card = card.summary()
    return write_run_report(path, report)


def test_latency_from_a_report_of_another_model_is_refused_unless_forced(tiny_data, tiny_onnx, tmp_path):
    import dataclasses

    with load_engine(tiny_onnx) as engine:
        card = engine.card
    # The case: a T=1 576x768 run applied to this T=2 64x128 engine.
    other = _report_from_another_model(tmp_path / "other.json",
                                       dataclasses.replace(card, window=1, input_size=(576, 768)))
    args = ["--engine", tiny_onnx, "--dataset", "folder", "--data-root", tiny_data, "--latency-from", other,
            "--no-streaming", "--json", tmp_path / "r.json"]
    code, output = run(args)
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: run report"), output
    assert "window 1 there, 2 here" in lines[0] and "input size 576x768 there, 64x128 here" in lines[0]
    assert "--force" in lines[0] and not (tmp_path / "r.json").exists()
    code, output = run(args + ["--force"])
    assert code == 0, output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["k"] == 8  # 250 ms at 30 fps: what the user asked for with --force
    # The same model at another precision or backend (the robot's plan, this ONNX) is the same computation.
    same = _report_from_another_model(tmp_path / "same.json", dataclasses.replace(card, precision="fp16",
                                                                                 backend="tensorrt"))
    assert latency_from_report(same, card=card).value_ms == pytest.approx(250.0)
    with pytest.raises(ConfigError, match="measured on another model"):
        latency_from_report(other, card=card)
    assert latency_from_report(other, card=card, force=True).value_ms == pytest.approx(250.0)


def test_forecast_cost_is_added_to_a_given_latency_and_shown_apart(tiny_data, tiny_onnx, tmp_path):
    code, output = run(["--engine", tiny_onnx, "--dataset", "folder", "--data-root", tiny_data, "--latency", 30,
                        "--extra-latency-ms", 2, "--forecast", "flow", "--no-streaming", "--json", tmp_path / "r.json"])
    assert code == 0, output
    report = json.loads((tmp_path / "r.json").read_text())
    latency, forecast = report["latency_ms"], report["forecast"]
    assert forecast["method"] == "flow" and forecast["cost_ms"]["count"] > 0
    assert latency["forecast_ms"] == pytest.approx(forecast["cost_ms"]["p50"]) and latency["forecast_ms"] > 0
    assert latency["value"] == pytest.approx(30 + 2 + latency["forecast_ms"])
    # 32 ms alone is k = 1 at 30 fps; the forecast's cost makes it k = 2: FLAME charges for it.
    assert report["k"] == frame_offset(latency["value"] / 1000, 30) == 2
    assert "incl. forecast" in output and "forecast flow ms" in output
