"""Standalone BatchNormalization as a 1x1 depthwise convolution, so that INT8 quantises it.

A BatchNormalization that follows a convolution is folded into it before
quantisation (``quant_pre_process``); one that follows an addition cannot be
(SwiftNet's and ResNet-v2's pre-activation units: BatchNorm, ReLU,
convolution, after each skip connection). ONNX Runtime has no INT8
BatchNormalization, so the quantiser leaves it float, between a
DequantizeLinear and a QuantizeLinear, in NCHW with transposes around it. As a
per-channel affine map it *is* a 1x1 depthwise convolution (weight
``gamma / sqrt(var + eps)``, bias ``beta - mean * weight``), which the
quantiser turns into an INT8 depthwise convolution that ONNX Runtime runs in
NHWC. SwiftNet-R18 at 512x1024, 2 threads: 12 such nodes, INT8 about 12%
faster (``benchmarks/engines.py --int8-only``), its agreement with the float graph
unchanged (98.76% of pixels either way).
"""

from __future__ import annotations

from typing import Any, Collection

import numpy as np


def batchnorm_to_conv(model: Any, keep: Collection[str] = ()) -> list[str]:
    """Replace each inference-mode BatchNormalization with constant statistics by an equal depthwise Conv, in place.

    Args:
        model: an ``onnx.ModelProto`` with shapes inferred (its input's rank must be known).
        keep: names of nodes to leave as they are (the graph ends kept float).

    Returns:
        The names of the replaced nodes (each Conv takes its BatchNormalization's name).
    """
    from onnx import helper, numpy_helper

    constants = {init.name: init for init in model.graph.initializer}
    ranks = {value.name: len(value.type.tensor_type.shape.dim)
             for value in (*model.graph.input, *model.graph.value_info)
             if value.type.tensor_type.HasField("shape")}
    nodes, replaced, statistics = [], [], set()
    for node in model.graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        rank = ranks.get(node.input[0] if node.input else "", 0)
        if (node.op_type != "BatchNormalization" or node.domain not in ("", "ai.onnx") or node.name in keep
                or len(node.output) != 1 or attributes.get("training_mode", 0) or rank < 3
                or not all(name in constants for name in node.input[1:5])):
            nodes.append(node)
            continue
        gamma, beta, mean, var = (numpy_helper.to_array(constants[name]).astype(np.float64) for name in node.input[1:5])
        scale = gamma / np.sqrt(var + attributes.get("epsilon", 1e-5))
        shift = beta - mean * scale
        channels = scale.shape[0]
        weight = numpy_helper.from_array(scale.reshape((channels, 1) + (1,) * (rank - 2)).astype(np.float32),
                                         f"{node.name}/depthwise_weight")
        bias = numpy_helper.from_array(shift.astype(np.float32), f"{node.name}/depthwise_bias")
        model.graph.initializer.extend([weight, bias])
        nodes.append(helper.make_node("Conv", [node.input[0], weight.name, bias.name], list(node.output),
                                      name=node.name, group=channels, kernel_shape=[1] * (rank - 2)))
        replaced.append(node.name)
        statistics.update(node.input[1:5])
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    # Drop the replaced nodes' statistics unless something else (a subgraph too) still reads them.
    used = _inputs(model.graph) | {value.name for value in model.graph.output}
    for init in [init for init in model.graph.initializer if init.name in statistics - used]:
        model.graph.initializer.remove(init)
    return replaced


def _inputs(graph: Any) -> set[str]:
    """Every tensor name a node of ``graph`` or of its subgraphs reads."""
    names = set()
    for node in graph.node:
        names.update(node.input)
        for attribute in node.attribute:
            for sub in (*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs):
                names |= _inputs(sub)
    return names
