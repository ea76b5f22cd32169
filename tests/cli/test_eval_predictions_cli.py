"""flame-eval --predictions and flame-data synth, through click and one real subprocess each."""

import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from flame.cli.data import main as data_main
from flame.cli.eval import main as eval_main
from flame.evaluation.datasets import SyntheticSpec, write_synthetic


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "syn"
    return write_synthetic(SyntheticSpec(size=(32, 64), frames=6, sequences=1, val_sequences=2, fps=20), root)


def truth_predictions(data_root, out):
    """The ground truth itself, written as predictions."""
    for seq in (data_root / "val").iterdir():
        if seq.is_dir():
            shutil.copytree(seq / "labels", out / seq.name)
    return out


def run(args):
    result = CliRunner().invoke(eval_main, [str(a) for a in args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_ground_truth_predictions_score_one_and_json_keys(synth, tmp_path):
    preds = truth_predictions(synth, tmp_path / "preds")
    code, output = run(["--predictions", preds, "--dataset", "folder", "--data-root", synth,
                        "--latency", 50, "--json", tmp_path / "r.json"])
    assert code == 0, output
    report = json.loads((tmp_path / "r.json").read_text())
    for key in ("miou", "flame", "streaming_flame", "k", "fps", "latency_ms", "per_class_iou", "pairs", "missed"):
        assert key in report
    assert report["miou"] == 1.0 and report["k"] == 1 and report["fps"] == 20
    assert report["pairs"] == 12 and report["missed"] == 2  # first frame of each sequence has no history
    assert report["flame"] < 1.0 and set(report["per_class_iou"]) == {"ground", "building", "car", "pedestrian", "ball"}
    assert "FLAME (k=1)" in output and "static mIoU" in output


def test_latency_26ms_at_16_667_fps_gives_k1(synth, tmp_path):
    preds = truth_predictions(synth, tmp_path / "preds")
    code, output = run(["--predictions", preds, "--dataset", "folder", "--data-root", synth, "--latency", 26,
                        "--fps", 16.667, "--no-streaming", "--json", tmp_path / "r.json"])
    assert code == 0, output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["k"] == 1 and report["streaming_flame"] is None


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda s, p: ["--predictions", p, "--dataset", "folder", "--data-root", s / "nope"], "does not exist"),
        (lambda s, p: ["--predictions", p, "--dataset", "folder", "--data-root", s, "--latency", -5], "latency >= 0"),
        (lambda s, p: ["--predictions", p, "--dataset", "folder", "--data-root", s, "--fps", 0], "positive frame rate"),
        (lambda s, p: ["--predictions", p / "missing", "--dataset", "folder", "--data-root", s], "does not exist"),
        (lambda s, p: ["--predictions", p, "--dataset", "cityscapes"], "--data-root"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(synth, tmp_path, make_args, message):
    preds = truth_predictions(synth, tmp_path / "preds")
    code, output = run(make_args(synth, preds))
    assert code == 2 and message in output and "Traceback" not in output


def test_missing_wrong_size_and_bad_label_predictions(synth, tmp_path):
    preds = truth_predictions(synth, tmp_path / "preds")
    (preds / "seq000" / "000002.png").unlink()
    code, output = run(["--predictions", preds, "--dataset", "folder", "--data-root", synth, "--latency", 50])
    assert code == 2 and "missing" in output and "seq000/000002.png" in output
    preds = truth_predictions(synth, tmp_path / "preds2")
    cv2.imwrite(str(preds / "seq001" / "000003.png"), np.zeros((10, 10), np.uint8))
    code, output = run(["--predictions", preds, "--dataset", "folder", "--data-root", synth])
    assert code == 2 and "differs from label size" in output
    bad = tmp_path / "badlabels"
    shutil.copytree(synth, bad)
    cv2.imwrite(str(bad / "val" / "seq000" / "labels" / "000001.png"), np.full((32, 64), 9, np.uint8))
    code, output = run(["--predictions", tmp_path / "preds2", "--dataset", "folder", "--data-root", bad])
    assert code == 2 and "label value 9 is neither a class" in output


def test_flame_data_synth_and_flame_eval_as_subprocesses(tmp_path):
    result = CliRunner().invoke(data_main, ["synth", "--out", str(tmp_path / "s"), "--sequences", "1",
                                            "--val-sequences", "1", "--frames", "3", "--size", "32x64"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s" / "val" / "seq000" / "labels" / "000002.png").is_file()
    bad = CliRunner().invoke(data_main, ["synth", "--out", str(tmp_path / "t"), "--size", "32by64"])
    assert bad.exit_code == 2 and "HxW" in bad.output
    proc = subprocess.run([sys.executable, "-m", "flame.cli.data", "synth", "--out", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not empty" in proc.stderr and "Traceback" not in proc.stderr
    preds = truth_predictions(tmp_path / "s", tmp_path / "p")
    proc = subprocess.run(["flame-eval", "--predictions", str(preds), "--dataset", "folder",
                           "--data-root", str(tmp_path / "s"), "--json", str(tmp_path / "r.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["miou"] == 1.0


def test_importing_evaluation_and_runtime_loads_no_torch():
    code = ("import sys, flame.evaluation.protocols, flame.evaluation.datasets, flame.evaluation.predictions, "
            "flame.core.card, flame.runtime.engines; "
            "print(' '.join(m for m in ('torch', 'tensorrt', 'onnxruntime') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == ""



def test_cityscapes_predictions_found_anywhere_and_label_ids(tmp_path):
    root = tmp_path / "cs"
    for n in range(0, 30):
        path = root / "leftImg8bit_sequence" / "val" / "aachen" / f"aachen_000000_{n:06d}_leftImg8bit.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((8, 16, 3), n, np.uint8))
    ids = np.full((8, 16), 7, np.uint8)
    ids[:, :4] = 26
    gt = root / "gtFine" / "val" / "aachen" / "aachen_000000_000019_gtFine_labelIds.png"
    gt.parent.mkdir(parents=True)
    cv2.imwrite(str(gt), ids)
    preds = tmp_path / "preds" / "deep" / "folder"
    preds.mkdir(parents=True)
    for n in (17, 18, 19):  # labelIds, named as cityscapesScripts finds them
        cv2.imwrite(str(preds / f"aachen_000000_{n:06d}_leftImg8bit_pred.png"), ids)
    code, output = run(["--predictions", tmp_path / "preds", "--dataset", "cityscapes", "--data-root", root,
                        "--label-ids", "--latency", 100, "--json", tmp_path / "r.json"])
    assert code == 0, output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["k"] == 2 and report["fps"] == 17 and report["miou"] == 1.0 and report["flame"] == 1.0
    assert report["per_class_iou"]["road"] == 1.0 and report["per_class_iou"]["car"] == 1.0
    assert report["per_class_iou"]["sky"] is None
    code, output = run(["--predictions", tmp_path / "preds", "--dataset", "cityscapes", "--data-root", root,
                        "--label-ids", "--latency", 200])
    assert code == 2 and "aachen_000000_000015" in output  # k = 4 needs frame 15


def test_forecast_flow_on_ground_truth_beats_none_and_charges_its_cost(tmp_path):
    # Objects big enough for the flow: the synthetic video at its default size.
    data = write_synthetic(SyntheticSpec(size=(128, 256), frames=10, sequences=1, val_sequences=2, fps=30),
                           tmp_path / "syn")
    preds = truth_predictions(data, tmp_path / "preds")
    reports = {}
    for method in ("none", "flow"):
        # 10 fps: one frame interval (100 ms) covers 50 ms plus the forecast's cost on any machine, so k = 1 both.
        code, output = run(["--predictions", preds, "--dataset", "folder", "--data-root", data, "--latency", 50,
                            "--fps", 10, "--forecast", method, "--json", tmp_path / f"{method}.json"])
        assert code == 0, output
        reports[method] = json.loads((tmp_path / f"{method}.json").read_text())
    none, flow = reports["none"], reports["flow"]
    assert none["k"] == flow["k"] == 1 and none["miou"] == flow["miou"] == 1.0
    assert flow["flame"] > none["flame"] + 0.02
    assert flow["streaming_flame"] > none["streaming_flame"]
    # The report shows both parts of the latency k came from.
    cost = flow["forecast"]["cost_ms"]["p50"]
    assert flow["forecast"]["method"] == "flow" and cost > 0
    assert flow["latency_ms"]["forecast_ms"] == pytest.approx(cost)
    assert flow["latency_ms"]["value"] == pytest.approx(50 + cost)
    assert none["latency_ms"]["forecast_ms"] == 0 and none["latency_ms"]["value"] == 50
    # Each sequence's first frame (scored against the second) has no earlier frame: forecast with none.
    assert flow["forecast"]["fallbacks"] == 2


def test_an_error_before_scoring_is_one_line_and_a_dot_root_is_named(synth, tmp_path):
    # Issue 22: an empty "scoring ... 0/?" bar came before the one-line error; "--data-root ." titled "FLAME on .".
    empty = tmp_path / "none"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "flame.cli.eval", "--predictions", str(empty), "--dataset", "folder",
                           "--data-root", str(synth), "--latency", "50"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and proc.stderr.startswith("error: "), proc.stderr
    preds = truth_predictions(synth, tmp_path / "preds")
    proc = subprocess.run([sys.executable, "-m", "flame.cli.eval", "--predictions", str(preds), "--dataset", "folder",
                           "--data-root", ".", "--split", "nowhere"], cwd=synth / "val", capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "FLAME on val\n" in proc.stdout and "FLAME on ." not in proc.stdout
    assert "scoring" in proc.stderr  # the bar is still drawn once there is work to show


# A flame-run report as FLAME wrote them before the reports became types (version 1), written out literally:
# three frames of 40, 60 and 55 ms latency (p50 55 ms).
TODAYS_RUN_REPORT = """{
  "report": "flame-run",
  "version": 1,
  "created": "2026-11-30T10:00:00+00:00",
  "complete": true,
  "end_reason": "end of source",
  "frames_captured": 3,
  "frames_processed": 3,
  "frames_dropped": 0,
  "duration_s": 0.2,
  "fps_in": 15.0,
  "fps_out": 15.0,
  "latency_ms": {"count": 3, "mean": 51.6667, "p50": 55.0, "p90": 59.0, "p99": 59.9, "max": 60.0, "min": 40.0},
  "wait_ms": {"count": 3, "mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "min": 0.0},
  "engine_ms": {"count": 3, "mean": 50.0, "p50": 50.0, "p90": 50.0, "p99": 50.0, "max": 50.0, "min": 50.0},
  "forecast_ms": {"count": 3, "mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "min": 0.0},
  "forecast": {"method": "none", "fallbacks": 0, "fallback_reason": null},
  "runtime_ms": {"count": 3, "mean": 1.6667, "p50": 0.0, "p90": 4.0, "p99": 4.9, "max": 5.0, "min": 0.0},
  "output_ms": {"count": 0, "mean": null, "p50": null, "p90": null, "p99": null, "max": null, "min": null},
  "output_share": 0.0,
  "engine_breakdown_ms": null,
  "k": 1,
  "k_fps": 15.0,
  "k_latency_ms": 55.0,
  "window": 1,
  "window_padded": 0,
  "warmup": 5,
  "engine": {"backend": "onnxruntime", "device": "cpu", "path": "robot.onnx"},
  "card": {"architecture": "tiny-mean", "window": 1, "input_size": [48, 64], "num_classes": 5},
  "source": {"kind": "video", "path": "drive.mp4", "fps": 15.0, "realtime": true},
  "machine": {"cpu": "arm64", "gpu": null},
  "frame_fields": ["index", "capture_ms", "finish_ms", "latency_ms", "wait_ms", "engine_ms", "previous", "forecast_ms"],
  "frames": [
    [0,0.0,40.0,40.0,0.0,40.0,-1,0.0],
    [1,66.6667,126.6667,60.0,0.0,55.0,-1,0.0],
    [3,200.0,255.0,55.0,0.0,55.0,-1,0.0]
  ]
}
"""


@pytest.mark.parametrize("fields", ["today", "before forecasts"])
def test_a_run_report_in_todays_format_still_gives_the_latency(synth, tmp_path, fields):
    text = TODAYS_RUN_REPORT
    if fields == "before forecasts":  # reports written before forecasting had no forecast column
        text = text.replace(', "forecast_ms"]', "]").replace(",0.0]", "]")
    (tmp_path / "run.json").write_text(text)
    preds = truth_predictions(synth, tmp_path / "preds")
    code, output = run(["--predictions", preds, "--dataset", "folder", "--data-root", synth, "--latency-from",
                        tmp_path / "run.json", "--no-streaming", "--json", tmp_path / "r.json"])
    assert code == 0, output
    report = json.loads((tmp_path / "r.json").read_text())
    # p50 of 40, 60, 55 ms is 55 ms: 1.1 frames at 20 fps, so k = 2.
    assert report["latency_ms"]["p50"] == 55.0 and report["latency_ms"]["count"] == 3 and report["k"] == 2
    assert report["latency_ms"]["source"] == f"run report {tmp_path / 'run.json'}"
