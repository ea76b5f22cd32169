"""Edge models in: NHWC input (TensorFlow, Keras, TFLite, as tf2onnx writes them) and one sigmoid channel
(a binary segmenter) become two-class FLAME engines, with their labels checked against numpy by hand."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from flame.runtime.engines import load_engine

EXPORT = [sys.executable, "-m", "flame.cli.export"]
H, W = 32, 48
WEIGHTS = np.array([0.02, -0.01, 0.015], np.float32)  # per R, G, B on the 0..255 scale
BIAS = -1.0


def tf2onnx_person(path, sigmoid: bool = True, layout: str = "nhwc"):
    """A person segmenter as tf2onnx writes a Keras one: NHWC input, Transpose, a stride-2 1x1 conv, Sigmoid,
    Transpose back: one channel at half resolution. ``layout="nchw"`` gives the PyTorch-style twin (logits)."""
    nodes = []
    image = "input_1"
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", ["input_1"], ["x"], perm=[0, 3, 1, 2]))
        image = "x"
    nodes.append(helper.make_node("Conv", [image, "w", "b"], ["conv"], strides=[2, 2], kernel_shape=[1, 1]))
    last = "conv"
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["conv"], ["prob"]))
        last = "prob"
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", [last], ["segment"], perm=[0, 2, 3, 1]))
        shape_in, shape_out = ["unk__1", H, W, 3], ["unk__2", H // 2, W // 2, 1]
    else:
        nodes.append(helper.make_node("Identity", [last], ["segment"]))
        shape_in, shape_out = ["n", 3, H, W], ["n", 1, H // 2, W // 2]
    graph = helper.make_graph(nodes, "keras", [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, shape_in)],
                              [helper.make_tensor_value_info("segment", TensorProto.FLOAT, shape_out)],
                              [numpy_helper.from_array(WEIGHTS.reshape(1, 3, 1, 1), "w"),
                               numpy_helper.from_array(np.array([BIAS], np.float32), "b")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def expected_labels(frame_bgr: np.ndarray, threshold: float, sigmoid: bool = True) -> np.ndarray:
    """By hand: RGB pixels at even rows and columns, the conv, the sigmoid, bilinear upsampling, the threshold."""
    rgb = frame_bgr[..., ::-1].astype(np.float32)
    score = (rgb[::2, ::2] * WEIGHTS).sum(axis=2) + BIAS
    if sigmoid:
        score = 1.0 / (1.0 + np.exp(-score))
    up = cv2.resize(score.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    return (up > threshold).astype(np.uint8)


def frames(count: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(4)
    return [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(count)]


def export(*args, cwd):
    return subprocess.run(EXPORT + [str(a) for a in args], capture_output=True, text=True, timeout=180, cwd=cwd)


def labels_of(engine_path, frame):
    with load_engine(engine_path, device="cpu") as engine:
        return engine(frame[None])


def test_nhwc_sigmoid_model_is_detected_and_thresholded_at_one_half(tmp_path):
    model = tf2onnx_person(tmp_path / "person.onnx")
    (tmp_path / "classes.txt").write_text("background\nperson\n")
    done = export(model, "--mean", "0,0,0", "--std", "1,1,1", "--input-scale", "0-255", "--classes", "classes.txt",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    assert "read as NHWC" in said and "ends in a Sigmoid" in said and "'person' where above 0.5" in said
    engine_path = tmp_path / "person.flame.onnx"
    with load_engine(engine_path, device="cpu") as engine:
        assert engine.card.class_names == ("background", "person") and engine.card.extra["layout"] == "nhwc"
        for frame in frames():
            labels = engine(frame[None])
            np.testing.assert_array_equal(labels, expected_labels(frame, 0.5))
            assert 0 < labels.mean() < 1  # both classes present: the test checks a real decision


def test_threshold_option_and_default_names(tmp_path):
    model = tf2onnx_person(tmp_path / "person.onnx")
    done = export(model, "--mean", "0,0,0", "--std", "1,1,1", "--input-scale", "0-255", "--threshold", "0.3",
                  "-o", "p.onnx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with load_engine(tmp_path / "p.onnx", device="cpu") as engine:
        assert engine.card.class_names == ("background", "foreground")
        frame = frames(1)[0]
        np.testing.assert_array_equal(engine(frame[None]), expected_labels(frame, 0.3))


def test_nchw_logits_single_channel_thresholds_at_zero(tmp_path):
    model = tf2onnx_person(tmp_path / "road.onnx", sigmoid=False, layout="nchw")
    done = export(model, "--mean", "0,0,0", "--std", "1,1,1", "--input-scale", "0-255", "--size", f"{H}x{W}",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "logits" in done.stdout + done.stderr and "read as NHWC" not in done.stdout + done.stderr
    frame = frames(1)[0]
    np.testing.assert_array_equal(labels_of(tmp_path / "road.flame.onnx", frame),
                                  expected_labels(frame, 0.0, sigmoid=False))


def test_logits_artifact_of_a_binary_model(tmp_path):
    model = tf2onnx_person(tmp_path / "person.onnx")
    done = export(model, "--mean", "0,0,0", "--std", "1,1,1", "--input-scale", "0-255", "--returns", "logits",
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    frame = frames(1)[0]
    with load_engine(tmp_path / "person.flame.onnx", device="cpu") as engine:
        logits = engine.raw(frame[None])
        assert logits.shape == (2, H, W)
        np.testing.assert_allclose(logits[0], -logits[1], atol=1e-6)
        np.testing.assert_array_equal(engine(frame[None]), expected_labels(frame, 0.5))


@pytest.mark.parametrize("args, says", [
    (["--layout", "nchw"], "takes 32 input channels but a window of 1 frame gives 3"),
    (["--classes", "cityscapes"], "19 classes but the model outputs 2"),
])
def test_bad_options_for_an_nhwc_model(tmp_path, args, says):
    model = tf2onnx_person(tmp_path / "person.onnx")
    done = export(model, *args, cwd=tmp_path)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert "read on the second axis (NCHW): for a channels-last model pass --layout nhwc" in done.stderr or \
        "classes" in done.stderr


def test_threshold_refused_for_a_multi_class_model(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["scores"], kernel_shape=[1, 1])]
    graph = helper.make_graph(nodes, "seg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, H, W])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 4, H, W])],
                              [numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "m.onnx"))
    done = export(tmp_path / "m.onnx", "--threshold", "0.5", cwd=tmp_path)
    assert done.returncode == 2 and "--threshold applies to a model with one score channel" in done.stderr
