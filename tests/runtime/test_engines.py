"""Engine loading: lazy backends, bad files, TensorRT/CUDA checks that need no GPU."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from flame.core.errors import CardError, DependencyError, EngineError, FlameError
from flame.runtime.engines import load_engine
from flame.runtime.engines.cudart import DeviceInfo, device_index
from flame.runtime.engines.tensorrt import missing_for_tensorrt, plan_mismatches
from flame.runtime.engines.tensorrt_dtypes import numpy_dtype
from flame.core.card import ModelCard, write_sidecar

HEAVY = ("torch", "tensorrt", "onnxruntime", "onnx", "cuda")


def _card(**changes) -> ModelCard:
    card = ModelCard(architecture="swiftnet-r18", num_classes=2, class_names=("a", "b"), palette=((0, 0, 0), (1, 1, 1)),
                     input_size=(64, 128), backend="tensorrt", precision="fp16", tensorrt_version="10.9.0",
                     gpu_name="NVIDIA H100 80GB HBM3", compute_capability="9.0")
    return card.replace(**changes)


def test_runtime_imports_no_backend():
    # Every engine module, imported in a fresh interpreter, pulls in none of the heavy backends.
    code = ("import sys\nimport flame.runtime, flame.runtime.engines, flame.core.card\n"
            "import flame.runtime.engines.onnxrt, flame.runtime.engines.tensorrt, flame.runtime.engines.cudart\n"
            "import flame.runtime.engines.torch_export\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_logits_export_returns_labels_and_keeps_its_logits(tmp_path):
    from flame_testing.tiny_engines import write_tiny_onnx

    # Four 16-pixel bands at grey 0, 64, 128, 200: bins 0, 1, 2, 3 (64 and 128 sit exactly on a bin edge).
    frames = np.zeros((1, 8, 64, 3), np.uint8)
    for band, value in enumerate((0, 64, 128, 200)):
        frames[0, :, 16 * band:16 * (band + 1)] = value
    with load_engine(write_tiny_onnx(tmp_path / "labels.onnx", 1, (8, 64), output="labels")) as labels_engine, \
            load_engine(write_tiny_onnx(tmp_path / "logits.onnx", 1, (8, 64), output="logits")) as logits_engine:
        assert logits_engine.card.output == "logits"
        labels = logits_engine(frames)
        logits = logits_engine.raw(frames)
        expected = labels_engine(frames)
        assert logits_engine.last_timing is not None and logits_engine.last_timing.total_ms > 0
        assert np.array_equal(labels_engine.raw(frames), expected)
    assert labels.dtype == np.uint8 and labels.shape == (8, 64)
    assert logits.dtype == np.float32 and logits.shape == (4, 8, 64)
    assert np.array_equal(labels, expected)
    assert np.array_equal(labels[0, ::16], [0, 1, 2, 3])


def test_logits_to_labels_shapes():
    from flame.runtime.engines.base import logits_to_labels

    logits = np.zeros((3, 1, 2), np.float32)
    logits[2, 0, 0] = logits[1, 0, 1] = 1.0
    assert logits_to_labels(logits).tolist() == [[2, 1]]
    assert logits_to_labels(logits[None]).tolist() == [[2, 1]]
    with pytest.raises(EngineError, match=r"\[C, H, W\]"):
        logits_to_labels(logits[0])
    with pytest.raises(EngineError, match="uint8"):
        logits_to_labels(np.zeros((300, 1, 1), np.float32))


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(EngineError, match="does not exist"):
        load_engine(tmp_path / "none.onnx")
    other = tmp_path / "model.bin"
    other.write_bytes(b"x")
    with pytest.raises(EngineError, match="cannot tell the engine kind"):
        load_engine(other)


@pytest.mark.parametrize("suffix", [".onnx", ".pt2", ".plan", ".engine"])
def test_garbage_with_a_valid_suffix_is_a_typed_error(tmp_path, suffix):
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    if suffix in (".plan", ".engine"):
        write_sidecar(path, _card())  # so that only the plan bytes are wrong
    with pytest.raises(FlameError) as info:
        load_engine(path)
    if suffix in (".plan", ".engine") and missing_for_tensorrt():
        assert isinstance(info.value, DependencyError)  # stops before touching TensorRT
        assert "TensorRT cannot run here" in str(info.value)
    else:
        assert isinstance(info.value, EngineError)
    assert "\n" not in str(info.value)


def test_onnx_without_card(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path = tmp_path / "nocard.onnx"
    onnx.save(model, str(path))
    with pytest.raises(CardError, match="no FLAME model card"):
        load_engine(path)


@pytest.mark.skipif(not missing_for_tensorrt(), reason="TensorRT and a CUDA device are present")
def test_plan_without_tensorrt_names_what_is_missing(tmp_path):
    path = tmp_path / "model.plan"
    path.write_bytes(b"plan")
    with pytest.raises(DependencyError) as info:
        load_engine(path)
    message = str(info.value)
    assert message.startswith("TensorRT cannot run here:") and "pip install" in message
    assert "tensorrt" not in sys.modules


def test_plan_mismatches():
    card = _card()
    here = DeviceInfo(0, "NVIDIA H100 80GB HBM3", "9.0")
    assert plan_mismatches(card, "10.9.0", here) == []
    found = plan_mismatches(card, "11.0.1", DeviceInfo(0, "NVIDIA L4", "8.9"))
    assert found == ["built with TensorRT 10.9.0, this machine has 11.0.1",
                     "built on NVIDIA H100 80GB HBM3, this machine has NVIDIA L4"]
    no_name = card.replace(gpu_name=None)
    assert plan_mismatches(no_name, "10.9.0", DeviceInfo(0, "x", "8.6")) == [
        "built for compute capability 9.0, this GPU is 8.6"]


def test_device_index():
    assert device_index(None) == 0 and device_index("cuda") == 0 and device_index("cuda:3") == 3
    for bad in ("cpu", "cuda:x", "gpu0"):
        with pytest.raises(EngineError, match="not a CUDA device"):
            device_index(bad)


def test_numpy_dtype_by_name():
    class Fake:  # a TensorRT DataType stand-in for the name-based fallback
        def __init__(self, name):
            self.name = name

    def no_nptype(dtype):  # tensorrt.nptype for a type numpy lacks
        raise TypeError("no numpy type")

    assert numpy_dtype(no_nptype, Fake("UINT8")) == np.uint8
    assert numpy_dtype(no_nptype, Fake("HALF")) == np.float16
    with pytest.raises(EngineError, match="BF16"):
        numpy_dtype(no_nptype, Fake("BF16"))


def test_cuda_device_check_fails_cleanly_without_a_gpu():
    runtime = pytest.importorskip("cuda.bindings.runtime", reason="cuda-bindings is not installed")
    err, count = runtime.cudaGetDeviceCount()
    if err == runtime.cudaError_t.cudaSuccess and count:
        pytest.skip("this machine has a CUDA device")
    from flame.runtime.engines.cudart import require_device

    with pytest.raises(DependencyError, match="no usable CUDA device|no CUDA device"):
        require_device()
