"""The engine contract, run the same way on every backend available here.

Backends: ONNX Runtime FP32 and FP16, the torch.export program (CPU), and
TensorRT FP16 where TensorRT and a CUDA device exist. Each must take uint8
[T, H, W, 3] BGR frames at its card's window and size, refuse anything else
with an EngineError that says what was expected, return uint8 [H, W] labels
that agree with flame.trainer.predict, record a timing breakdown per call,
carry the checkpoint's card, and close (also as a context manager).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flame_testing import engine_artifacts
from flame_testing.engine_artifacts import SIZE, WINDOW, agreement

from flame.core.errors import EngineError
from flame.runtime.engines import Engine, Timing, load_engine
from flame.runtime.engines.tensorrt import missing_for_tensorrt  # noqa: E402

TRT_MISSING = missing_for_tensorrt()

BACKENDS = [
    pytest.param("onnx-fp32", id="onnx-fp32"),
    pytest.param("onnx-fp16", id="onnx-fp16"),
    pytest.param("pt2", id="pt2-cpu"),
    pytest.param("tensorrt-fp16", id="tensorrt-fp16", marks=pytest.mark.skipif(
        bool(TRT_MISSING), reason="; ".join(TRT_MISSING) or "TensorRT present")),
]
#: (engine precision, backend name, card backend, minimum agreement with predict)
EXPECTED = {
    "onnx-fp32": ("fp32", "onnxruntime", "onnx", 0.999),
    "onnx-fp16": ("fp16", "onnxruntime", "onnx", 0.99),
    "pt2": ("fp32", "torch", "torch-export", 0.999),
    "tensorrt-fp16": ("fp16", "tensorrt", "tensorrt", 0.99),
}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    return engine_artifacts.artifacts(tmp_path_factory)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """One torch thread for these 64x128 inputs (see tests/export/conftest.py), restored after."""
    with engine_artifacts.torch_threads(1):
        yield


@pytest.fixture(scope="module")
def plan(artifacts, tmp_path_factory):
    from flame.export.exporter import export_checkpoint

    folder = tmp_path_factory.mktemp("contract-plan")
    return export_checkpoint(artifacts.checkpoint, folder / "sharp.fp16.plan", fmt="tensorrt", fp16=True,
                             verify=False).path


def _open(kind: str, artifacts, request) -> Engine:
    if kind == "onnx-fp32":
        return load_engine(artifacts.onnx, device="cpu")
    if kind == "onnx-fp16":
        return load_engine(artifacts.onnx_fp16, device="cpu")
    if kind == "pt2":
        return load_engine(artifacts.pt2, device="cpu")
    return load_engine(request.getfixturevalue("plan"))


@pytest.fixture(params=BACKENDS)
def kind(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def opened():
    """Engines opened once per backend for the whole module (loading is the slow part)."""
    engines: dict[str, Engine] = {}
    yield engines
    for engine in engines.values():
        engine.close()


@pytest.fixture
def engine(kind, artifacts, request, opened):
    if kind not in opened:
        opened[kind] = _open(kind, artifacts, request)
        opened[kind].kind = kind
    return opened[kind]


@pytest.fixture(scope="module")
def reference(artifacts):
    from flame.trainer.predict import predict

    model, card = artifacts.reference
    return np.stack([predict(model, card, w) for w in artifacts.windows])


class TestEngineContract:
    def test_labels_agree_with_predict(self, engine, artifacts, reference):
        labels = np.stack([engine(w) for w in artifacts.windows])
        assert labels.dtype == np.uint8 and labels.shape == (len(artifacts.windows), *SIZE)
        assert agreement(labels, reference) >= EXPECTED[engine.kind][3]

    def test_card_round_trips(self, engine, artifacts):
        precision, backend, card_backend, _ = EXPECTED[engine.kind]
        _, checkpoint_card = artifacts.reference
        assert engine.backend == backend
        assert engine.card.precision == precision and engine.card.backend == card_backend
        plain = engine.card.replace(backend="pytorch", precision="fp32", tensorrt_version=None, gpu_name=None,
                                    compute_capability=None)
        assert plain == checkpoint_card and plain.extra == checkpoint_card.extra
        assert engine.input_shape == (WINDOW, *SIZE, 3)
        described = engine.describe()
        assert described["backend"] == backend and described["card"]["input_size"] == list(SIZE)

    @pytest.mark.parametrize("bad, message", [
        (np.zeros((WINDOW, *SIZE, 3), np.float32), "expected uint8 frames"),
        (np.zeros((1, *SIZE, 3), np.uint8), f"window of {WINDOW} frames"),
        (np.zeros((3, *SIZE, 3), np.uint8), f"window of {WINDOW} frames"),
        (np.zeros((WINDOW, 32, 64, 3), np.uint8), "resize them first"),
        (np.zeros((WINDOW, *SIZE), np.uint8), "expected shape"),
        ([[0, 1]], "numpy uint8 array"),
    ], ids=["float32", "window-1", "window-3", "size", "no-channels", "list"])
    def test_bad_frames_are_refused_clearly(self, engine, bad, message):
        before = engine.last_timing
        with pytest.raises(EngineError, match=message):
            engine(bad)
        assert engine.last_timing is before  # nothing ran, nothing recorded

    def test_timing_breakdown(self, engine, artifacts):
        engine(artifacts.windows[0])
        timing = engine.last_timing
        assert isinstance(timing, Timing)
        spans = [timing.prepare_ms, timing.copy_in_ms, timing.compute_ms, timing.copy_out_ms]
        assert all(s >= 0 for s in spans) and timing.compute_ms > 0
        assert sum(spans) <= timing.total_ms + 1e-6
        engine(artifacts.windows[1])
        assert engine.last_timing is not timing  # one record per call

    def test_non_contiguous_frames_are_accepted(self, engine, artifacts):
        window = artifacts.windows[0]
        strided = np.ascontiguousarray(window[:, :, ::-1])[:, :, ::-1]  # same values, negative stride
        assert not strided.flags.c_contiguous
        np.testing.assert_array_equal(engine(strided), engine(window))

    def test_close_and_context_manager(self, kind, request, artifacts):
        with _open(kind, artifacts, request) as engine:
            assert engine.last_timing is None  # nothing recorded before the first call
            engine(artifacts.windows[0])
            assert engine.last_timing is not None
        with pytest.raises(EngineError, match="closed"):
            engine(artifacts.windows[0])
        engine.close()  # idempotent
        other = _open(kind, artifacts, request)
        other.close()
        with pytest.raises(EngineError, match="closed"):
            other(artifacts.windows[0])
