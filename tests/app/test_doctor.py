"""flame-doctor: the environment report, and the self-test run for real in a subprocess.

On a machine without a GPU the CUDA and TensorRT rows must say "unavailable"
and why, and the command must pass; a check that can run and fails must make
it exit 1 (a fault injected into ONNX Runtime in the subprocess).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _doctor(*args: str, pythonpath: list[Path] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in [*(pythonpath or []), ROOT]),
           "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "flame.cli.doctor", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def test_console_script_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["flame-doctor"] == "flame.cli.doctor:main"


def test_environment_report_names_what_is_installed():
    import cv2
    import onnxruntime as ort

    from flame.apps.environment import environment, opencv_backends

    facts = {f.name: f.value for f in environment()}
    assert facts["Python"].startswith(sys.version.split()[0])
    assert facts["OpenCV"].startswith(cv2.__version__)
    backends = opencv_backends()
    assert set(backends) == {"FFMPEG", "GSTREAMER", "V4L2"}
    for name, present in backends.items():
        assert f"{name} {'yes' if present else 'no'}" in facts["OpenCV"]
    assert facts["ONNX Runtime"] == f"{ort.__version__}; providers: {', '.join(ort.get_available_providers())}"
    assert "torch" in facts and "TensorRT" in facts and "cuda-bindings" in facts and "cameras" in facts
    assert any(name.startswith("GPU") for name in facts)

    done = _doctor()
    assert done.returncode == 0, done.stderr
    assert "Environment" in done.stdout and ort.__version__ in done.stdout and "Self-test" not in done.stdout


def test_stub_only_tensorrt_is_not_installed(tmp_path):
    # tensorrt-stubs puts tensorrt/__init__.pyi into site-packages: a namespace package, not TensorRT.
    (tmp_path / "tensorrt").mkdir()
    (tmp_path / "tensorrt" / "__init__.pyi").write_text("__version__: str\n")
    code = ("from flame.apps.environment import environment; from flame.runtime.engines.tensorrt import missing_for_tensorrt;"
            "print({f.name: f.value for f in environment()}['TensorRT']); print(missing_for_tensorrt()[0])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["not installed (only its type stubs are)",
                                        "TensorRT is not installed (only its type stubs are)"]


@pytest.mark.slow
def test_self_test_passes_here_with_the_gpu_rows_unavailable(tmp_path):
    from flame.export.parity import THRESHOLDS
    from flame.runtime.engines.tensorrt import missing_for_tensorrt

    out = tmp_path / "doctor.json"
    done = _doctor("--self-test", "--json", str(out), "--work-dir", str(tmp_path / "work"))
    report = json.loads(out.read_text())
    rows = {row["name"]: row for row in report["self_test"]}
    assert done.returncode == report["exit_status"] == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert not [r for r in rows.values() if r["status"] == "failed"]
    for name, precision in (("run: ONNX FP32 on CPU", "fp32"), ("run: ONNX FP16 on CPU", "fp16"),
                            ("run: ONNX INT8 on CPU", "int8"), ("run: .pt2 on CPU", "fp32")):
        assert rows[name]["status"] == "ok"
        assert THRESHOLDS[precision] <= rows[name]["agreement"] <= 1.0
        assert rows[name]["latency_ms"] > 0
    for name in ("export: .pt2", "export: ONNX FP32", "export: ONNX FP16", "export: ONNX INT8",
                 "train: two steps on CPU"):
        assert rows[name]["status"] == "ok", rows[name]
    for artifact in ("tiny.onnx", "tiny.fp16.onnx", "tiny.int8.onnx"):
        assert (tmp_path / "work" / artifact).is_file(), artifact
    # The INT8 file is a quantised graph with an INT8 card, not a copy of the FP32 one.
    from flame.runtime.engines import load_engine

    with load_engine(tmp_path / "work" / "tiny.int8.onnx", device="cpu") as engine:
        assert engine.card.precision == "int8" and engine.card.extra["int8"]["target"] == "cpu"
    assert (tmp_path / "work" / "tiny.int8.onnx").stat().st_size < (tmp_path / "work" / "tiny.onnx").stat().st_size / 3
    missing = missing_for_tensorrt()
    for name in ("export: TensorRT FP16 plan", "export: TensorRT INT8 plan", "run: TensorRT FP16",
                 "run: TensorRT FP16 with a CUDA graph", "run: TensorRT INT8"):
        if missing:
            assert rows[name]["status"] == "unavailable" and rows[name]["detail"] == "; ".join(missing)
        else:
            assert rows[name]["status"] == "ok", rows[name]
    for name in ("run: PyTorch reference on CUDA", "run: .pt2 on CUDA", "run: .pt2 on CUDA under FP16 autocast",
                 "train: two AMP steps on CUDA"):
        if _cuda_available():
            assert rows[name]["status"] == "ok", rows[name]
        else:
            assert rows[name]["status"] == "unavailable" and "CPU-only build" in rows[name]["detail"] \
                or "finds no CUDA device" in rows[name]["detail"]
    # The table says the same as the JSON.
    for line in done.stdout.splitlines():
        if "run: ONNX FP32 on CPU" in line:
            assert " ok " in line
    assert f"{sum(r['status'] == 'ok' for r in rows.values())} checks passed, none failed" in done.stdout


@pytest.mark.slow
def test_a_failing_check_makes_it_exit_1(tmp_path):
    # The fault: ONNX Runtime returns all-zero labels, so its rows disagree with the reference.
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent("""
        import numpy as np
        import onnxruntime

        _run = onnxruntime.InferenceSession.run

        def run(self, output_names, feeds, *args, **kwargs):
            return [np.zeros_like(x) for x in _run(self, output_names, feeds, *args, **kwargs)]

        onnxruntime.InferenceSession.run = run
    """))
    out = tmp_path / "doctor.json"
    done = _doctor("--self-test", "--json", str(out), pythonpath=[tmp_path])
    report = json.loads(out.read_text())
    rows = {row["name"]: row for row in report["self_test"]}
    assert done.returncode == report["exit_status"] == 1, done.stdout[-3000:]
    for name in ("run: ONNX FP32 on CPU", "run: ONNX FP16 on CPU", "run: ONNX INT8 on CPU"):
        assert rows[name]["status"] == "failed" and rows[name]["agreement"] < 0.97
    assert rows["run: .pt2 on CPU"]["status"] == "ok"
    # The shipped engine's row fails too (issue 22: it runs before the tiny network's rows).
    assert rows["run: shipped ONNX engine on CPU, stream loop"]["status"] == "failed"
    assert "4 of" in done.stdout
    assert ("checks failed: run: shipped ONNX engine on CPU, stream loop, run: ONNX FP32 on CPU, "
            "run: ONNX FP16 on CPU, run: ONNX INT8 on CPU") in done.stdout
