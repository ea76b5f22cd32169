"""ONNX export: parity with flame.trainer.predict, static graph, card in metadata, FP16 conversion."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from flame_testing.engine_artifacts import CLASSES, SIZE, WINDOW, agreement, rendered_windows
from flame.export.fp16 import convert_to_fp16, fp32_node_names, name_nodes
from flame.export.onnx_export import card_of, load_onnx
from flame.runtime.engines import load_engine
from flame.core.card import ONNX_KEY
from flame.trainer.predict import predict


def _predictions(artifacts):
    model, card = artifacts.reference
    return np.stack([predict(model, card, w) for w in artifacts.windows])


def test_fixture_model_is_sharp(artifacts):
    # The fixture must segment real structure, or parity figures would only measure tie-breaking.
    model, card = artifacts.reference
    windows, labels = rendered_windows("val", sequences=2)
    accuracy = agreement(np.stack([predict(model, card, w) for w in windows]), labels)
    assert accuracy > 0.6  # chance (majority class) is below 0.5 on these frames


def test_onnx_fp32_agrees_with_predict(artifacts):
    reference = _predictions(artifacts)
    with load_engine(artifacts.onnx, device="cpu") as engine:
        labels = np.stack([engine(w) for w in artifacts.windows])
    assert labels.dtype == np.uint8 and labels.shape == (len(artifacts.windows), *SIZE)
    assert agreement(labels, reference) >= 0.999


def test_onnx_fp16_agrees_with_predict(artifacts):
    reference = _predictions(artifacts)
    with load_engine(artifacts.onnx_fp16, device="cpu") as engine:
        labels = np.stack([engine(w) for w in artifacts.windows])
        assert engine.card.precision == "fp16"
    assert labels.dtype == np.uint8
    assert agreement(labels, reference) >= 0.99


def test_parity_check_of_the_onnx_engine(artifacts):
    import torch

    from flame.export.parity import check_parity, parity_windows
    from flame.trainer.deploy import deploy_wrapper

    model, card = artifacts.reference
    wrapper = deploy_wrapper(model, card)
    windows = parity_windows(card, 3)
    assert len(windows) == 3 and windows[0].shape == (WINDOW, *SIZE, 3) and windows[0].dtype == np.uint8
    assert not np.array_equal(windows[0], windows[1])  # the shapes move between windows
    with torch.no_grad(), load_engine(artifacts.onnx, device="cpu") as engine:
        parity = check_parity(lambda w: wrapper(torch.from_numpy(w)).numpy(), engine, windows, card, "fp32",
                              "onnxruntime on cpu")
    assert parity.passed and parity.agreement >= 0.999
    assert parity.pixels == 3 * SIZE[0] * SIZE[1] and parity.windows == 3 and parity.threshold == 0.999
    assert "pixel agreement" in parity.summary() and parity.max_abs_diff is None


def test_compare_counts_pixels_and_logit_argmax():
    from flame.export.parity import compare

    a = np.array([[0, 1], [2, 3]], np.uint8)
    b = np.array([[0, 1], [2, 0]], np.uint8)
    assert compare([a, a], [a, b], "labels") == (7 / 8, 8, None)
    logits = np.zeros((3, 1, 2), np.float32)
    logits[1, 0, 0] = logits[2, 0, 1] = 1.0
    shifted = logits.copy()
    shifted[0, 0, 1] = 2.0  # flips the argmax of the second pixel
    agreement_, pixels, worst = compare([logits], [shifted], "logits")
    assert (agreement_, pixels, worst) == (0.5, 2, 2.0)


def test_onnx_graph_is_static_opset18_with_card(artifacts):
    graph = load_onnx(artifacts.onnx)
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    (inp,), (out,) = graph.graph.input, graph.graph.output
    assert inp.name == "frames" and inp.type.tensor_type.elem_type == TensorProto.UINT8
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim] == [WINDOW, *SIZE, 3]
    assert out.name == "labels" and out.type.tensor_type.elem_type == TensorProto.UINT8
    assert [d.dim_value for d in out.type.tensor_type.shape.dim] == list(SIZE)
    card = card_of(graph)
    _, checkpoint_card = artifacts.reference
    assert card.backend == "onnx" and card.precision == "fp32" and card.input_size == SIZE
    # Everything else round-trips unchanged from the checkpoint.
    assert card.replace(backend="pytorch") == checkpoint_card
    assert card.extra == checkpoint_card.extra
    assert sum(p.key == ONNX_KEY for p in graph.metadata_props) == 1


def test_fp16_graph_keeps_io_and_risky_nodes_fp32(artifacts):
    fp32 = load_onnx(artifacts.onnx)
    fp16 = load_onnx(artifacts.onnx_fp16)
    assert card_of(fp16).precision == "fp16"
    assert fp16.graph.input[0].type.tensor_type.elem_type == TensorProto.UINT8
    assert fp16.graph.output[0].type.tensor_type.elem_type == TensorProto.UINT8
    kinds = {init.data_type for init in fp16.graph.initializer}
    assert TensorProto.FLOAT16 in kinds  # convolution weights converted
    halves = sum(init.data_type == TensorProto.FLOAT16 for init in fp16.graph.initializer)
    assert halves >= sum(n.op_type == "Conv" for n in fp16.graph.node)
    # The normalisation constants (scale/shift of the input) stay FP32: they feed blocked nodes.
    nodes = {n.name: n for n in fp16.graph.node}
    initializers = {i.name: i for i in fp16.graph.initializer}
    for name in ("node_mul", "node_sub"):
        constants = [initializers[i] for i in nodes[name].input if i in initializers]
        assert constants and all(c.data_type == TensorProto.FLOAT for c in constants)
    name_nodes(fp32)
    kept = fp32_node_names(fp32)
    ops = {n.name: n.op_type for n in fp32.graph.node}
    kept_ops = {ops[k] for k in kept}
    assert {"Cast", "Mul", "Sub", "ArgMax", "AveragePool", "BatchNormalization"} <= kept_ops
    assert "Conv" not in kept_ops


def _tiny_graph():
    """in -> Cast -> Mul -> Conv -> Relu -> ReduceMean... -> Conv -> Resize -> ArgMax -> Cast -> out."""
    nodes = [
        helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT, name="cast_in"),
        helper.make_node("Mul", ["xf", "s"], ["xn"], name="normalise"),
        helper.make_node("Conv", ["xn", "w1"], ["c1"], name="conv1"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r1"], ["p"], name="pool"),
        helper.make_node("Add", ["r1", "p"], ["a"], name="add"),
        helper.make_node("Conv", ["a", "w2"], ["logits"], name="conv2"),
        helper.make_node("Identity", ["logits"], ["up"], name="upsample"),
        helper.make_node("ArgMax", ["up"], ["idx"], axis=1, keepdims=0, name="argmax"),
        helper.make_node("Cast", ["idx"], ["y"], to=TensorProto.UINT8, name="cast_out"),
    ]
    inits = [helper.make_tensor("s", TensorProto.FLOAT, [], [1 / 255]),
             helper.make_tensor("w1", TensorProto.FLOAT, [4, 3, 1, 1], list(np.linspace(-1, 1, 12))),
             helper.make_tensor("w2", TensorProto.FLOAT, [3, 4, 1, 1], list(np.linspace(1, -1, 12)))]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 4, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model


def test_fp32_regions_of_a_hand_made_graph():
    kept = fp32_node_names(_tiny_graph())
    # Input side up to the first Conv, output side back to the last Conv, and the pooling reduction.
    assert kept == ["cast_in", "normalise", "pool", "upsample", "argmax", "cast_out"]


def test_fp16_conversion_of_a_hand_made_graph_runs_like_fp32():
    import onnxruntime as ort

    model = _tiny_graph()
    converted, kept = convert_to_fp16(model)
    assert "conv1" not in kept and "relu" not in kept
    assert {i.name: i.data_type for i in converted.graph.initializer}["w1"] == TensorProto.FLOAT16
    x = np.random.default_rng(0).integers(0, 256, (1, 3, 4, 4), dtype=np.uint8)
    run = lambda m: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(run(converted), run(model))
    assert model.graph.initializer[1].data_type == TensorProto.FLOAT  # the input model is untouched


def test_unnamed_nodes_get_unique_names():
    model = _tiny_graph()
    for node in model.graph.node[:3]:
        node.name = ""
    name_nodes(model)
    names = [n.name for n in model.graph.node]
    assert all(names) and len(set(names)) == len(names)


def test_load_onnx_rejects_garbage(tmp_path):
    from flame.core.errors import EngineError

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\xffnot a protobuf" * 8)
    with pytest.raises(EngineError, match="not an ONNX model"):
        load_onnx(bad)
    with pytest.raises(EngineError, match="does not exist"):
        load_onnx(tmp_path / "missing.onnx")


def test_card_of_a_graph_without_card():
    from flame.core.errors import CardError

    with pytest.raises(CardError, match="no FLAME model card"):
        card_of(_tiny_graph())


def test_classes_fit_the_card(artifacts):
    with load_engine(artifacts.onnx, device="cpu") as engine:
        labels = engine(artifacts.windows[0])
    assert labels.max() < CLASSES
