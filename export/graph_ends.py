"""The ends of an exported graph: the nodes between its input and the first compute ops, and between
the last compute ops and its output (pre-processing, first and last convolution, logits resize, argmax).

INT8 export keeps them float (:mod:`flame.export.int8`), FP16 export keeps them FP32 (:mod:`flame.export.fp16`).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Sequence

from flame.core.errors import ConfigError, param

#: The graph's ends, in graph order.
ENDS = ("preprocessing", "first-conv", "last-conv", "logits-resize", "argmax")
#: Ops the end regions stop at (the network's heavy arithmetic).
COMPUTE_OPS = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})


def check_ends(keep_float: Sequence[str]) -> tuple[str, ...]:
    """Return the end names or raise on an unknown one.

    Raises:
        ConfigError: on a name not in :data:`ENDS`.
    """
    unknown = [name for name in keep_float if name not in ENDS]
    if unknown:
        raise ConfigError(f"unknown graph end(s) {', '.join(unknown)} in {param('keep_float')}; choose from {', '.join(ENDS)}")
    return tuple(keep_float)


def end_nodes(model: Any, compute_ops: frozenset[str] = COMPUTE_OPS) -> dict[str, list[str]]:
    """The nodes of each graph end (:data:`ENDS`), by name, in graph order.

    From the graph input forward up to the first compute op: ``preprocessing``;
    those compute ops: ``first-conv``. From the graph output backward up to the
    last compute op: the Resize nodes are ``logits-resize``, the rest
    (select, argmax, casts) ``argmax``; those compute ops: ``last-conv``.
    ``compute_ops`` are the op types the ends stop at (default :data:`COMPUTE_OPS`).
    """
    graph = model.graph
    consumers: dict[str, list[Any]] = {}
    producer: dict[str, Any] = {}
    for node in graph.node:
        for tensor in node.input:
            consumers.setdefault(tensor, []).append(node)
        for tensor in node.output:
            producer[tensor] = node
    groups: dict[str, set[str]] = {name: set() for name in ENDS}

    seen: set[str] = set()
    frontier = deque(value.name for value in graph.input)
    while frontier:
        for node in consumers.get(frontier.popleft(), []):
            if node.name in seen:
                continue
            seen.add(node.name)
            if node.op_type in compute_ops:
                groups["first-conv"].add(node.name)
            else:
                groups["preprocessing"].add(node.name)
                frontier.extend(node.output)

    seen = set()
    frontier = deque(value.name for value in graph.output)
    while frontier:
        node = producer.get(frontier.popleft())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type in compute_ops:
            groups["last-conv"].add(node.name)
            continue
        groups["logits-resize" if node.op_type == "Resize" else "argmax"].add(node.name)
        frontier.extend(node.input)
    order = {node.name: i for i, node in enumerate(graph.node)}
    return {name: sorted(nodes, key=order.__getitem__) for name, nodes in groups.items()}
