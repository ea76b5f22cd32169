"""TensorRT: plan build, parity, sidecar, timing cache reuse, CUDA graphs; and the clean stop without it.

The build/run tests are real and need TensorRT and a CUDA device; they skip
with the reason otherwise. The tests of the stop-before-TensorRT path run
where TensorRT or a GPU is missing (this CPU machine).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from flame_testing.engine_artifacts import SIZE, agreement
from flame.core.errors import DependencyError, EngineError
from flame.export.exporter import export_checkpoint
from flame.export.onnx_export import load_onnx
from flame.export.tensorrt_build import tensorrt_ready
from flame.runtime.engines.tensorrt import missing_for_tensorrt

MISSING = missing_for_tensorrt()


@pytest.fixture(scope="module")
def trt():
    """The tensorrt module, or a skip saying what is missing."""
    # MISSING first: with only the type stubs installed, "import tensorrt" gives an empty namespace package.
    if MISSING:
        pytest.skip("; ".join(MISSING))
    return pytest.importorskip("tensorrt", reason="TensorRT is not installed")


# ----------------------------------------------------------------- without TensorRT or a GPU
@pytest.mark.skipif(not MISSING, reason="TensorRT and a CUDA device are present")
def test_export_stops_before_tensorrt_with_one_line(tmp_path):
    # A checkpoint that does not exist: the dependency check must come first, before any loading.
    with pytest.raises(DependencyError) as info:
        export_checkpoint(tmp_path / "missing.pt", fmt="tensorrt", fp16=True)
    message = str(info.value)
    assert "\n" not in message
    assert "TensorRT" in message and "pip install" in message
    assert not (tmp_path / "missing.fp16.plan").exists()


@pytest.mark.skipif(not MISSING, reason="TensorRT and a CUDA device are present")
def test_stop_imports_no_tensorrt():
    # In a fresh interpreter: the failed TensorRT export must not have imported tensorrt (nor torch:
    # the check runs before the checkpoint is read).
    code = ("import sys\nfrom flame.core.errors import DependencyError\nfrom flame.export.exporter import export_checkpoint\n"
            "try:\n    export_checkpoint('nothing.pt', fmt='tensorrt')\nexcept DependencyError:\n    pass\n"
            "print(sorted(m for m in ('tensorrt', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_tensorrt_ready_graph_gives_the_same_labels(artifacts):
    # TensorRT converts to uint8 only from float; the prepared graph casts argmax -> float -> uint8.
    import onnxruntime as ort
    from onnx import TensorProto

    graph = load_onnx(artifacts.onnx)
    ready = tensorrt_ready(graph)
    casts = [n for n in ready.graph.node if n.op_type == "Cast"]
    assert len(casts) == len([n for n in graph.graph.node if n.op_type == "Cast"]) + 1
    staged = next(n for n in casts if n.name.endswith("_via_float"))
    assert next(a.i for a in staged.attribute if a.name == "to") == TensorProto.FLOAT
    run = lambda m: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    before, after = run(graph), run(ready)
    for window in artifacts.windows[:4]:
        np.testing.assert_array_equal(after.run(None, {"frames": window})[0], before.run(None, {"frames": window})[0])


# ----------------------------------------------------------------- with TensorRT and a GPU
@pytest.fixture(scope="module")
def fp16_plan(trt, artifacts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("plans")
    cache = folder / "trt.cache"
    result = export_checkpoint(artifacts.checkpoint, folder / "sharp.fp16.plan", fmt="tensorrt", fp16=True,
                               timing_cache=cache, workspace_mb=512)
    return result, cache


def test_fp16_plan_parity_and_sidecar(fp16_plan, artifacts):
    from flame.runtime.engines import load_engine
    from flame.core.card import read_sidecar
    from flame.trainer.predict import predict

    result, cache = fp16_plan
    assert result.parity.passed and result.parity.agreement >= 0.99
    card = read_sidecar(result.path)
    assert card == result.card and card.backend == "tensorrt" and card.precision == "fp16"
    assert card.tensorrt_version and card.gpu_name and card.compute_capability
    _, checkpoint_card = artifacts.reference
    assert card.replace(backend="pytorch", precision="fp32", tensorrt_version=None, gpu_name=None,
                        compute_capability=None) == checkpoint_card
    model, ref_card = artifacts.reference
    reference = np.stack([predict(model, ref_card, w) for w in artifacts.windows])
    with load_engine(result.path) as engine:
        labels = np.stack([engine(w) for w in artifacts.windows])
        timing = engine.last_timing
    assert labels.dtype == np.uint8 and labels.shape[1:] == SIZE
    assert agreement(labels, reference) >= 0.99
    assert timing.compute_ms > 0 and timing.copy_in_ms >= 0 and timing.copy_out_ms >= 0


def test_fp32_plan_parity(trt, artifacts, tmp_path):
    result = export_checkpoint(artifacts.checkpoint, tmp_path / "sharp.plan", workspace_mb=512)
    assert result.card.precision == "fp32"
    assert result.parity.agreement >= 0.999


def test_int8_plan_strongly_typed_from_the_symmetric_graph(trt, artifacts, tmp_path):
    # No implicit calibrator: the plan is built from the tensorrt-flavour Q/DQ graph (TensorRT 10 and 11).
    result = export_checkpoint(artifacts.checkpoint, tmp_path / "sharp.int8.plan", int8=True, calibration_frames=32,
                               workspace_mb=512)
    assert result.card.precision == "int8" and result.card.extra["int8"]["target"] == "tensorrt"
    assert any("strongly typed INT8 graph" in note for note in result.notes)
    assert result.parity.passed and result.parity.agreement >= 0.97 and result.parity.miou_change is not None


def test_timing_cache_is_reused(fp16_plan, artifacts, tmp_path):
    from flame.export.onnx_export import card_of
    from flame.export.tensorrt_build import build_plan
    from flame.runtime.engines import load_engine

    _, cache = fp16_plan
    before = cache.read_bytes()
    assert before, "the first build wrote no timing cache"
    graph = load_onnx(artifacts.onnx)
    build = build_plan(graph, tmp_path / "again.plan", card_of(graph), fp16=True, timing_cache=cache)
    assert build.timing_cache_reused == len(before)
    assert cache.stat().st_size >= len(before)
    with load_engine(tmp_path / "again.plan") as engine:
        assert engine(artifacts.windows[0]).shape == SIZE


def test_cuda_graph_replay_matches(fp16_plan, artifacts):
    from flame.runtime.engines.tensorrt import TensorRTEngine

    result, _ = fp16_plan
    with TensorRTEngine(result.path) as plain, TensorRTEngine(result.path, cuda_graph=True) as graphed:
        assert graphed.uses_cuda_graph and not plain.uses_cuda_graph
        for window in artifacts.windows[:4]:
            np.testing.assert_array_equal(graphed(window), plain(window))


def test_plan_from_elsewhere_warns(fp16_plan, tmp_path):
    from flame.runtime.engines.tensorrt import PlanMismatchWarning, TensorRTEngine
    from flame.core.card import read_sidecar, write_sidecar

    result, _ = fp16_plan
    copy = tmp_path / "elsewhere.plan"
    shutil.copy(result.path, copy)
    write_sidecar(copy, read_sidecar(result.path).replace(gpu_name="Some Other GPU", tensorrt_version="0.0.1"))
    with pytest.warns(PlanMismatchWarning, match="Some Other GPU"):
        engine = TensorRTEngine(copy)
    engine.close()


def test_garbage_plan_is_a_clean_error(fp16_plan, tmp_path):
    from flame.runtime.engines import load_engine
    from flame.core.card import read_sidecar, write_sidecar

    result, _ = fp16_plan
    bad = tmp_path / "bad.plan"
    bad.write_bytes(b"\x00garbage, not a serialised engine" * 64)
    write_sidecar(bad, read_sidecar(result.path))
    with pytest.raises(EngineError, match="cannot deserialise"):
        load_engine(bad)
