"""INT8 export: calibration windows, the two quantisation flavours, the float ends, parity and mIoU change."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from flame_testing.engine_artifacts import SIZE, WINDOW
from flame.cli.export import main
from flame.core.errors import ConfigError, DataError
from flame.evaluation.datasets import ArraySequence, SequenceDataset, SyntheticSpec, default_palette, open_dataset
from flame.evaluation.datasets import write_synthetic
from flame.export import calibration, graph_ends, int8
from flame.export.exporter import export_checkpoint
from flame.export.onnx_export import load_onnx
from flame.runtime.engines import load_engine


@pytest.fixture(scope="module")
def small_synthetic(tmp_path_factory):
    """A small synthetic data set at the fixture model's size: (train split, val split)."""
    root = write_synthetic(SyntheticSpec(size=SIZE, frames=12, sequences=4, val_sequences=2, seed=3),
                           tmp_path_factory.mktemp("int8-data") / "synth")
    return open_dataset("synthetic", root, "train"), open_dataset("synthetic", root, "val"), root


@pytest.fixture(scope="module")
def float_graph(artifacts):
    return load_onnx(artifacts.onnx)


@pytest.fixture(scope="module")
def quantized(float_graph, small_synthetic):
    """Both flavours of the fixture graph, calibrated on 24 windows."""
    windows = calibration.calibration_windows(small_synthetic[0], WINDOW, SIZE, 24)
    return {target: int8.quantize_int8(float_graph, windows, target) for target in int8.TARGETS}


def _marked_dataset(lengths: list[int]) -> SequenceDataset:
    """Sequences whose frame (s, i) is filled with s * 16 + i, so a window tells where it came from."""
    sequences = []
    for s, length in enumerate(lengths):
        frames = np.stack([np.full((4, 6, 3), s * 16 + i, np.uint8) for i in range(length)])
        sequences.append(ArraySequence(f"s{s}", frames, np.zeros((length, 4, 6), np.uint8), 30.0))
    return SequenceDataset("marked", ["a", "b"], default_palette(2), sequences, 30.0)


def test_calibration_windows_spread_over_every_sequence():
    dataset = _marked_dataset([10, 10, 10])
    windows = calibration.calibration_windows(dataset, 2, (8, 12), 6)
    assert len(windows) == 6 and all(w.shape == (2, 8, 12, 3) for w in windows)
    # 27 windows (9 per sequence, ending at frames 1..9); picks at round(linspace(0, 26, 6)) = 0, 5, 10, 16, 21, 26.
    ends = [(int(w[1, 0, 0, 0]) // 16, int(w[1, 0, 0, 0]) % 16) for w in windows]
    assert ends == [(0, 1), (0, 6), (1, 2), (1, 8), (2, 4), (2, 9)]
    assert all(int(w[0, 0, 0, 0]) == int(w[1, 0, 0, 0]) - 1 for w in windows)  # oldest frame first


def test_calibration_set_with_fewer_windows_than_asked():
    with pytest.raises(DataError, match="has 27 input windows of 2 frame\\(s\\), fewer than the 28 asked for by calibration_frames"):
        calibration.calibration_windows(_marked_dataset([10, 10, 10]), 2, (8, 12), 28)
    with pytest.raises(ConfigError, match="calibration_frames must be a positive number of windows, found 0"):
        calibration.calibration_windows(_marked_dataset([10]), 1, (8, 12), 0)


def test_graph_ends(float_graph):
    ends = graph_ends.end_nodes(float_graph)
    ops = {node.name: node.op_type for node in float_graph.graph.node}
    assert [ops[n] for n in ends["first-conv"]] == ["Conv"] and [ops[n] for n in ends["last-conv"]] == ["Conv"]
    assert [ops[n] for n in ends["logits-resize"]] == ["Resize"]
    assert {ops[n] for n in ends["argmax"]} == {"ArgMax", "Cast", "Gather"}
    assert {"Cast", "Mul", "Sub"} <= {ops[n] for n in ends["preprocessing"]}
    assert not {ops[n] for n in ends["preprocessing"]} & graph_ends.COMPUTE_OPS


def _feeds(model, name: str) -> list[str]:
    """Op types producing the inputs of node ``name`` (``initializer`` for constants)."""
    producer = {out: node.op_type for node in model.graph.node for out in node.output}
    node = next(n for n in model.graph.node if n.name == name)
    return [producer.get(i, "initializer") for i in node.input]


def _fed(model, name: str) -> set[str]:
    """Op types consuming the outputs of node ``name``."""
    node = next(n for n in model.graph.node if n.name == name)
    return {n.op_type for n in model.graph.node if set(n.input) & set(node.output)}


def test_ends_stay_float_and_the_middle_is_quantised(quantized):
    for result in quantized.values():
        model = result.model
        ops = {node.name: node.op_type for node in model.graph.node}
        kept = [name for names in result.kept_float.values() for name in names]
        for name in kept:
            assert "QuantizeLinear" not in _fed(model, name), name  # no kept node's output is quantised
        for name in result.kept_float["first-conv"] + result.kept_float["last-conv"]:
            assert _feeds(model, name)[1] == "initializer", name  # float weights
        # From the input to the first convolution and from the last one to the output, nothing is dequantised.
        for end in ("preprocessing", "first-conv", "logits-resize", "argmax"):
            for name in result.kept_float[end]:
                assert "DequantizeLinear" not in _feeds(model, name), (end, name)
        inner_convs = [n for n, op in ops.items() if op == "Conv" and n not in kept]
        assert inner_convs and all(_feeds(model, n)[:2] == ["DequantizeLinear"] * 2 for n in inner_convs)
        assert all("QuantizeLinear" in _fed(model, n) for n in inner_convs)


def test_the_first_quantised_tensor_is_the_stem_pools_output(quantized):
    # The quantiser leaves what the float first convolution feeds (its ReLU, the stem's max pool) float, so the
    # first quantised tensor is the pooled one, a quarter the size; FLAME's ONNX Runtime sessions keep it there
    # (tests/runtime/test_onnxrt_session.py).
    for result in quantized.values():
        model = result.model
        producer = {out: node.op_type for node in model.graph.node for out in node.output}
        quantised = [producer.get(node.input[0], "input") for node in model.graph.node if node.op_type == "QuantizeLinear"]
        assert quantised[0] == "MaxPool" and quantised.count("MaxPool") == 1, quantised[:3]


def test_cpu_flavour_quantises_the_standalone_batchnorms(quantized):
    # SwiftNet's pre-activation BatchNorms follow additions, so no convolution absorbs them: the tensorrt
    # graph keeps them (TensorRT fuses them itself), the cpu graph has them as INT8 depthwise convolutions.
    kinds = {target: [node.op_type for node in result.model.graph.node] for target, result in quantized.items()}
    assert kinds["tensorrt"].count("BatchNormalization") >= 4
    assert "BatchNormalization" not in kinds["cpu"]
    model = quantized["cpu"].model
    depthwise = [node for node in model.graph.node if node.op_type == "Conv"
                 and any(a.name == "group" and a.i > 1 for a in node.attribute)]
    assert len(depthwise) == kinds["tensorrt"].count("BatchNormalization")
    assert all(_feeds(model, node.name)[:2] == ["DequantizeLinear"] * 2 for node in depthwise)


def test_tensorrt_flavour_has_only_zero_zero_points(quantized):
    from onnx import TensorProto

    trt = int8.zero_points(quantized["tensorrt"].model)
    assert len(trt) > 50 and all(np.all(zp == 0) for zp in trt.values())
    assert {zp.dtype for zp in trt.values()} == {np.dtype(np.int8)}
    assert int8.nonzero_zero_points(quantized["tensorrt"].model) == []
    # Biases stay float for TensorRT (its Q/DQ takes 8-bit tensors only): no int32 initializer.
    assert not [i.name for i in quantized["tensorrt"].model.graph.initializer if i.data_type == TensorProto.INT32]
    # The reading can fail: the cpu flavour has uint8 activations with non-zero zero points.
    cpu = int8.zero_points(quantized["cpu"].model)
    assert np.dtype(np.uint8) in {zp.dtype for zp in cpu.values()}
    assert len(int8.nonzero_zero_points(quantized["cpu"].model)) > 10


def test_unknown_target_and_end(float_graph):
    with pytest.raises(ConfigError, match="unknown INT8 target 'gpu' for int8_target; choose one of cpu, tensorrt"):
        int8.quantize_int8(float_graph, [np.zeros((WINDOW, *SIZE, 3), np.uint8)], "gpu")
    with pytest.raises(ConfigError, match="unknown graph end"):
        int8.quantize_int8(float_graph, [np.zeros((WINDOW, *SIZE, 3), np.uint8)], "cpu", ["softmax"])


def test_int8_export_of_a_checkpoint_reports_agreement_and_miou_change(artifacts, small_synthetic, tmp_path):
    train, val, _ = small_synthetic
    out = tmp_path / "sharp.int8.onnx"
    result = export_checkpoint(artifacts.checkpoint, out, int8=True, calibration=train, calibration_frames=32,
                               validation=val)
    parity = result.parity
    assert result.card.precision == "int8" and result.card.extra["int8"] == {
        "target": "cpu", "calibration": train.name, "windows": 32}
    assert parity.precision == "int8" and parity.threshold == 0.97 and parity.passed
    assert parity.windows == 8 and parity.pixels == 8 * SIZE[0] * SIZE[1]
    assert 0.97 <= parity.agreement < 1.0  # INT8 is not exact
    assert parity.miou_dataset == val.name and 0.2 < parity.miou_reference < 1.0
    assert abs(parity.miou_change) < 0.02 and parity.miou_change == parity.miou - parity.miou_reference
    assert f"static mIoU on {val.name}" in parity.summary()
    # The reported figures are what the artifact does on those frames.
    from flame.export.parity import dataset_windows

    windows = dataset_windows(val, WINDOW, SIZE, 8)
    model, card = artifacts.reference
    from flame.trainer.predict import predict

    with load_engine(out, device="cpu") as engine:
        assert engine.card.precision == "int8"
        same = sum(int(np.count_nonzero(engine(w) == predict(model, card, w))) for w in windows)
    assert same / parity.pixels == pytest.approx(parity.agreement)


def test_cli_int8_default_calibration(artifacts, tmp_path):
    out = tmp_path / "m.int8.onnx"
    result = CliRunner().invoke(main, [str(artifacts.checkpoint), "-o", str(out), "--int8", "--calib-frames", "16"])
    assert result.exit_code == 0, result.output
    assert "onnx int8" in result.output and "calibrated on 16 windows of synthetic train" in result.output
    assert "static mIoU on synthetic val" in result.output and "expected >= 97%" in result.output


@pytest.mark.parametrize("args, message", [
    (["--int8", "--fp16"], "error: --fp16 and --int8 exclude each other: choose one precision"),
    (["--int8", "--int8-target", "gpu"], "error: unknown INT8 target 'gpu' for --int8-target; choose one of cpu, tensorrt"),
    (["--int8", "--format", "torch"], "error: --format torch has no INT8 form; INT8 is exported with --format onnx or tensorrt"),
    (["--int8-target", "cpu"], "error: --int8-target, --calibrate, --data-root and --calib-frames apply to --int8 only"),
])
def test_bad_int8_options_one_line_exit_2(artifacts, tmp_path, args, message):
    out = tmp_path / ("x.pt2" if "torch" in args else "x.onnx")
    result = CliRunner().invoke(main, [str(artifacts.checkpoint), "-o", str(out), *args])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith(message)


def test_too_few_calibration_windows_in_a_subprocess(artifacts, small_synthetic, tmp_path):
    root = small_synthetic[2]  # 4 train sequences of 12 frames: 44 windows of 2 frames
    proc = subprocess.run([sys.executable, "-m", "flame.cli.export", str(artifacts.checkpoint), "-o",
                           str(tmp_path / "x.onnx"), "--int8", "--calibrate", "synthetic", "--data-root", str(root),
                           "--calib-frames", "45"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()  # the finished steps, then one error line
    assert [line for line in lines if not line.startswith("- ")] == [
        f"error: calibration data set {root / 'train'} has 44 input windows of 2 frame(s), fewer than the 45 "
        "asked for by --calib-frames"]
    assert not (tmp_path / "x.onnx").exists()
