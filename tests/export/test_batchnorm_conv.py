"""A standalone BatchNormalization becomes an equal depthwise convolution, and the cpu INT8 flavour quantises it."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from flame.export.batchnorm_conv import batchnorm_to_conv  # noqa: E402

CHANNELS = 4


def _graph(scale_is_input: bool = False):
    """x -> Add(x, x) -> BatchNormalization -> Relu, with statistics far from 0/1 (shapes inferred)."""
    rng = np.random.default_rng(0)
    stats = {"gamma": rng.uniform(0.5, 2, CHANNELS), "beta": rng.normal(size=CHANNELS),
             "mean": rng.normal(size=CHANNELS), "var": rng.uniform(0.1, 3, CHANNELS)}
    initializers = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in stats.items()
                    if not (scale_is_input and k == "gamma")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, CHANNELS, 5, 7])]
    if scale_is_input:
        inputs.append(helper.make_tensor_value_info("gamma", TensorProto.FLOAT, [CHANNELS]))
    nodes = [helper.make_node("Add", ["x", "x"], ["sum"], name="add"),
             helper.make_node("BatchNormalization", ["sum", "gamma", "beta", "mean", "var"], ["bn"], name="bn",
                              epsilon=1e-3),
             helper.make_node("Relu", ["bn"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "bn", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializers)
    model = onnx.shape_inference.infer_shapes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]))
    return model, stats


def _run(model, feeds):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def test_the_depthwise_convolution_computes_the_batchnorm():
    model, stats = _graph()
    x = np.random.default_rng(1).normal(size=(1, CHANNELS, 5, 7)).astype(np.float32)
    before = _run(model, {"x": x})
    # Hand-computed: relu(gamma * (2x - mean) / sqrt(var + eps) + beta), per channel.
    shape = (1, CHANNELS, 1, 1)
    expected = np.maximum(stats["gamma"].reshape(shape) * (2 * x - stats["mean"].reshape(shape))
                          / np.sqrt(stats["var"].reshape(shape) + 1e-3) + stats["beta"].reshape(shape), 0)
    np.testing.assert_allclose(before, expected, rtol=1e-5, atol=1e-5)

    assert batchnorm_to_conv(model) == ["bn"]
    onnx.checker.check_model(model)
    (conv,) = [node for node in model.graph.node if node.name == "bn"]
    assert conv.op_type == "Conv"
    assert {a.name: helper.get_attribute_value(a) for a in conv.attribute} == {"group": CHANNELS, "kernel_shape": [1, 1]}
    # The statistics are gone, the depthwise weight and bias are there.
    assert {init.name for init in model.graph.initializer} == {"bn/depthwise_weight", "bn/depthwise_bias"}
    np.testing.assert_allclose(_run(model, {"x": x}), before, rtol=1e-5, atol=1e-5)


def test_kept_and_non_constant_batchnorms_stay():
    model, _ = _graph()
    assert batchnorm_to_conv(model, keep={"bn"}) == []
    model, _ = _graph(scale_is_input=True)
    assert batchnorm_to_conv(model) == []
    assert [node.op_type for node in model.graph.node] == ["Add", "BatchNormalization", "Relu"]
