"""FP16 conversion of an exported ONNX graph, keeping the risky parts in FP32.

Converter: onnxconverter-common's ``float16.convert_float_to_float16`` with
``keep_io_types=True`` and the *names* of the nodes to keep in FP32 in
``node_block_list``. Why this converter: it is a small pip package that works
offline on any machine (NVIDIA ModelOpt's AutoCast needs NVIDIA's index and
calibration data), and with explicit node names it converts our graphs
correctly. What was measured:

* nothing blocked: the graph fails to load in ONNX Runtime, because the
  input ``Cast(uint8 -> float)`` keeps ``to=FLOAT`` while its output is
  retyped to FP16;
* ``'Cast'`` in ``op_block_list``: the conversion never returns (the
  converter inserts new Cast nodes while iterating over the graph, and each
  new Cast is blocked in turn);
* node names in ``node_block_list``: works, and the graph runs in ONNX Runtime.

Kept in FP32 (see :func:`fp32_node_names`): everything between the graph
input and the first convolution (uint8 cast, channel flip, scaling and
normalisation), everything between the last convolution and the graph output
(logit upsampling, the argmax input, the uint8 cast), every Cast, and
numerically risky ops anywhere (reductions and pooling averages,
normalisation layers, softmax/argmax, exp/log/pow/sqrt/div). The converter's
default op block list (Resize, TopK, ...) stays in force as well.
"""

from __future__ import annotations

import warnings
from typing import Any

from flame.core.deps import needs
from flame.export.graph_ends import COMPUTE_OPS as FLOAT_COMPUTE_OPS
from flame.export.graph_ends import end_nodes

#: Ops that do the network's heavy arithmetic; the FP32 regions at the graph's ends stop at them
#: (an already-quantised graph's integer ops count too).
COMPUTE_OPS = FLOAT_COMPUTE_OPS | {"ConvInteger", "MatMulInteger"}

#: Reductions and averaging pools: long sums lose precision and overflow in FP16.
REDUCTION_OPS = frozenset({"ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum",
                           "ReduceLogSumExp", "ReduceMax", "ReduceMin", "ReduceProd", "AveragePool",
                           "GlobalAveragePool", "LpPool", "GlobalLpPool", "CumSum"})

#: Normalisation layers (statistics, division by a small standard deviation).
NORMALISATION_OPS = frozenset({"BatchNormalization", "LayerNormalization", "InstanceNormalization",
                               "GroupNormalization", "LpNormalization", "MeanVarianceNormalization"})

#: Softmax/argmax and the elementwise ops that overflow or lose precision in FP16.
SENSITIVE_OPS = frozenset({"Softmax", "LogSoftmax", "ArgMax", "ArgMin", "TopK", "Exp", "Log", "Pow", "Sqrt",
                           "Reciprocal", "Div", "Erf", "Cast"})

RISKY_OPS = REDUCTION_OPS | NORMALISATION_OPS | SENSITIVE_OPS


def _import_float16() -> Any:
    with needs("FP16 export", "onnxconverter-common",
               "pip install onnxconverter-common (or pip install -e '.[train]')"):
        from onnxconverter_common import float16
    return float16


def name_nodes(model: Any) -> None:
    """Give every unnamed node a unique name (block lists work by name)."""
    taken = {node.name for node in model.graph.node if node.name}
    for index, node in enumerate(model.graph.node):
        if not node.name:
            name = f"{node.op_type}_{index}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)


def fp32_node_names(model: Any) -> list[str]:
    """The nodes an FP16 conversion must leave in FP32, in graph order.

    Args:
        model: an ``onnx.ModelProto`` whose nodes all have names (see :func:`name_nodes`).
    """
    ends = end_nodes(model, COMPUTE_OPS)
    # The FP32 ends are everything but the first and last compute ops themselves.
    keep = {node for end in ("preprocessing", "logits-resize", "argmax") for node in ends[end]}
    keep.update(node.name for node in model.graph.node if node.op_type in RISKY_OPS)
    return [node.name for node in model.graph.node if node.name in keep]


def _keep_constants_fp32(model: Any, blocked: set[str]) -> None:
    """Make the float initializers of FP32 nodes survive the conversion in FP32.

    The converter decides per initializer *after* it has rewired the inputs of
    blocked nodes, and it retypes every ``value_info`` entry that is not the
    output of a blocked node. torch's exporter writes ``value_info`` for
    initializers too, so the input normalisation's scale and shift would be
    rounded to FP16 and cast back. Dropping those redundant entries (an
    initializer carries its own type) and giving blocked nodes their own copy
    of any float initializer they share with converted nodes keeps them exact.
    """
    from onnx import TensorProto

    initializers = {init.name: init for init in model.graph.initializer}
    kept_info = [v for v in model.graph.value_info if v.name not in initializers]
    del model.graph.value_info[:]
    model.graph.value_info.extend(kept_info)
    users: dict[str, set[bool]] = {}
    for node in model.graph.node:
        for name in node.input:
            if name in initializers:
                users.setdefault(name, set()).add(node.name in blocked)
    for name, kinds in users.items():
        if kinds == {True, False} and initializers[name].data_type == TensorProto.FLOAT:
            copy = model.graph.initializer.add()
            copy.CopyFrom(initializers[name])
            copy.name = f"{name}_fp32"
            for node in model.graph.node:
                if node.name in blocked:
                    node.input[:] = [copy.name if i == name else i for i in node.input]


def convert_to_fp16(model: Any) -> tuple[Any, list[str]]:
    """Convert a float32 ONNX model to FP16, keeping I/O types and risky nodes in FP32.

    Args:
        model: an ``onnx.ModelProto`` (not modified).

    Returns:
        ``(fp16 model, names of the nodes kept in FP32)``.

    Raises:
        DependencyError: when onnxconverter-common is missing.
    """
    import onnx

    float16 = _import_float16()
    model = onnx.ModelProto.FromString(model.SerializeToString())  # work on a copy
    name_nodes(model)
    blocked = fp32_node_names(model)
    _keep_constants_fp32(model, set(blocked))
    with warnings.catch_warnings():
        # The converter warns for every initializer value it clamps into FP16 range (tiny
        # BatchNorm variances and the like): expected, and the parity check measures the effect.
        warnings.simplefilter("ignore")
        converted = float16.convert_float_to_float16(
            model, keep_io_types=True, op_block_list=list(float16.DEFAULT_OP_BLOCK_LIST), node_block_list=blocked)
    return converted, blocked
