"""The ONNX Runtime session FLAME opens keeps an INT8 graph's first quantisation where the export put it.

ONNX Runtime ignores unknown names in ``disabled_optimizers``, so the test reads the optimised graph that
ONNX Runtime itself writes: with its default session the QuantizeLinear after the stem's max pool moves in
front of the pool (a uint8 pool on the full-size tensor); with FLAME's session the pool stays float.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from flame.runtime.engines.onnxrt import open_session  # noqa: E402


def _stem_then_qdq() -> bytes:
    """Float Conv -> Relu -> MaxPool, then Q/DQ and an INT8 convolution, as an INT8 export's stem looks."""
    rng = np.random.default_rng(0)
    const = lambda name, value: numpy_helper.from_array(np.asarray(value), name)  # noqa: E731
    initializers = [
        const("w0", rng.normal(size=(16, 3, 3, 3)).astype(np.float32)), const("b0", np.zeros(16, np.float32)),
        const("s", np.float32(0.05)), const("z", np.uint8(0)),
        const("wq", rng.integers(-100, 100, size=(16, 16, 3, 3)).astype(np.int8)),
        const("ws", np.full(16, 0.01, np.float32)), const("wz", np.zeros(16, np.int8)),
        const("s2", np.float32(0.2)), const("z2", np.uint8(128))]
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1], name="first_conv"),
        helper.make_node("Relu", ["c0"], ["r0"], name="first_relu"),
        helper.make_node("MaxPool", ["r0"], ["p0"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                         name="stem_pool"),
        helper.make_node("QuantizeLinear", ["p0", "s", "z"], ["p0q"], name="q0"),
        helper.make_node("DequantizeLinear", ["p0q", "s", "z"], ["p0d"], name="dq0"),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w1"], axis=0, name="dqw"),
        helper.make_node("Conv", ["p0d", "w1"], ["c1"], pads=[1, 1, 1, 1], name="int8_conv"),
        helper.make_node("QuantizeLinear", ["c1", "s2", "z2"], ["c1q"], name="q1"),
        helper.make_node("DequantizeLinear", ["c1q", "s2", "z2"], ["y"], name="dq1")]
    graph = helper.make_graph(nodes, "stem", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 32, 32])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _pool_input_type(path) -> str:
    """The op type producing the max pool's input in an optimised graph."""
    optimised = onnx.load(str(path))
    producer = {out: node.op_type for node in optimised.graph.node for out in node.output}
    (pool,) = [node for node in optimised.graph.node if node.op_type == "MaxPool"]
    return producer.get(pool.input[0], "input")


def test_flame_session_keeps_the_stem_pool_float(tmp_path):
    model = _stem_then_qdq()
    x = np.random.default_rng(1).normal(size=(1, 3, 64, 64)).astype(np.float32)

    # ONNX Runtime's own default: the QuantizeLinear moves in front of the pool.
    defaults = ort.SessionOptions()
    defaults.optimized_model_filepath = str(tmp_path / "default.onnx")
    reference = ort.InferenceSession(model, sess_options=defaults, providers=["CPUExecutionProvider"])
    assert _pool_input_type(tmp_path / "default.onnx") == "QuantizeLinear"

    session = open_session(ort, model, ["CPUExecutionProvider"], threads=1,
                           optimized_model_filepath=str(tmp_path / "flame.onnx"))
    assert _pool_input_type(tmp_path / "flame.onnx") != "QuantizeLinear"
    # A max pool commutes with a monotone quantisation: both sessions compute the same tensor.
    np.testing.assert_allclose(session.run(None, {"x": x})[0], reference.run(None, {"x": x})[0], atol=1e-6)
