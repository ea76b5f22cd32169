"""TensorRT plan build from the exported ONNX graph.

* TensorRT 10 (has ``BuilderFlag.FP16``): FP16 is the builder flag on the
  FP32 graph (weak typing: TensorRT picks FP16 kernels where it likes).
* TensorRT 11 (no FP16 flag; networks are always strongly typed): FP16 comes
  from the graph itself, converted by :mod:`flame.export.fp16` (inputs,
  outputs and risky ops kept in FP32), built as a strongly typed network.
* INT8 (TensorRT 10 and 11): the Q/DQ graph of :mod:`flame.export.int8`'s
  ``tensorrt`` flavour, built as a strongly typed network (explicit
  quantisation; the implicit calibrators are deprecated in 10, removed in 11).

The calls are type-checked against the TensorRT 10 stubs (tests/typecheck);
TensorRT 11 adds no call used here, it removes ``BuilderFlag.FP16`` and
ignores ``STRONGLY_TYPED``: both places are marked with NVIDIA's page.

The workspace is capped, a ``--timing-cache`` file is read before and
written after every build (tactic timings reused across builds), and the
card goes to the ``<plan>.json`` sidecar. Every path goes through
:func:`flame.runtime.engines.tensorrt.require_tensorrt` first, which stops
with one clear error before any TensorRT object exists when TensorRT or a
CUDA device is missing.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flame.core.errors import EngineError, param
from flame.core.files import atomic_path
from flame.runtime.engines.tensorrt import require_tensorrt
from flame.runtime.engines.tensorrt_logger import last_error, tensorrt_logger
from flame.core.card import ModelCard, write_sidecar

if TYPE_CHECKING:
    import tensorrt as trt

#: NVIDIA's TensorRT 10 -> 11 Python migration page (strong typing replaces the FP16 flag).
TENSORRT_11_MIGRATION = ("https://docs.nvidia.com/deeplearning/tensorrt/latest/api/migration/"
                         "tensorrt-10x-to-11x-python-api-patterns.html")


@dataclass(frozen=True)
class PlanBuild:
    """What a plan build did.

    Attributes:
        card: the plan's card (also written to the sidecar).
        sidecar: the sidecar path.
        strongly_typed: FP16 from the graph (TensorRT 11) rather than the builder flag.
        timing_cache: the cache file, if any.
        timing_cache_reused: bytes of an earlier cache loaded into this build (0 = none).
        seconds: build time.
    """

    card: ModelCard
    sidecar: Path
    strongly_typed: bool
    timing_cache: Path | None
    timing_cache_reused: int
    seconds: float


def tensorrt_ready(model: Any) -> Any:
    """A copy of the graph whose uint8 output cast TensorRT accepts.

    TensorRT converts to and from uint8 only from float32/float16 (its
    ``DataType.UINT8`` documentation), while the wrapper's graph casts the
    int64 argmax straight to uint8. An int -> float cast is inserted in front
    of every such cast; class ids are small integers, so the result is exact
    and the host still receives uint8 labels.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.ModelProto.FromString(model.SerializeToString())
    typed = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type
             for v in list(typed.graph.value_info) + list(typed.graph.input) + list(typed.graph.output)}
    floats = {TensorProto.FLOAT, TensorProto.FLOAT16}
    nodes = []
    for node in model.graph.node:
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        if node.op_type == "Cast" and to == TensorProto.UINT8 and types.get(node.input[0]) not in floats:
            staged = f"{node.input[0]}_as_float_for_uint8"
            nodes.append(helper.make_node("Cast", [node.input[0]], [staged], name=f"{node.name}_via_float",
                                          to=TensorProto.FLOAT))
            node.input[0] = staged
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def _read_cache(path: Path | None) -> bytes:
    if path is None or not path.is_file():
        return b""
    return path.read_bytes()


def build_plan(model: Any, plan_path: str | os.PathLike, card: ModelCard, *, fp16: bool, int8: bool = False,
               workspace_mb: int = 1024,
               timing_cache: str | os.PathLike | None = None, device: str | None = None) -> PlanBuild:
    """Build and write a TensorRT plan and its card sidecar.

    Args:
        model: the FP32 ONNX graph (``onnx.ModelProto``) from :func:`flame.export.onnx_export.to_onnx`.
        plan_path: where the plan goes (its sidecar is ``<plan>.json``).
        card: the card of the exported graph.
        fp16: build for FP16.
        int8: ``model`` is an INT8 Q/DQ graph (the tensorrt flavour of :mod:`flame.export.int8`):
            built as a strongly typed network, the precision of every layer from the graph
            (TensorRT 10 and 11; no implicit calibration, deprecated in 10 and removed in 11).
        workspace_mb: builder workspace limit in MiB.
        timing_cache: timing cache file, read if it exists and rewritten after the build.
        device: ``cuda`` or ``cuda:N``.

    Raises:
        DependencyError: without TensorRT or a CUDA device (before any TensorRT object exists).
        EngineError: when TensorRT cannot parse the graph or build the plan.
    """
    info = require_tensorrt(device)
    import tensorrt as trt

    if workspace_mb <= 0:
        raise EngineError(f"workspace must be a positive number of MiB, found {workspace_mb}")
    if fp16 and int8:
        raise EngineError("a plan is built either from an FP16 or from an INT8 graph, not both")
    # TensorRT 11 removed BuilderFlag.FP16 with all weak typing ("In TensorRT 11.x, the
    # BuilderFlag.FP16 flag has been removed", TENSORRT_11_MIGRATION): FP16 then comes from the graph.
    # An INT8 Q/DQ graph is built strongly typed with TensorRT 10 and 11 alike (explicit quantisation).
    strongly_typed = int8 or (fp16 and not hasattr(trt.BuilderFlag, "FP16"))
    if strongly_typed and fp16:
        from flame.export.fp16 import convert_to_fp16

        model, _ = convert_to_fp16(model)
    graph = tensorrt_ready(model).SerializeToString()
    cache_path = Path(timing_cache) if timing_cache is not None else None
    started = time.perf_counter()

    logger = tensorrt_logger()
    last_error()  # forget errors of earlier objects
    builder = trt.Builder(logger)
    flags = 0
    if strongly_typed:
        # Needed on TensorRT 10 ("to enable strongly typed mode, pass a value of
        # 1 << int(NetworkDefinitionCreationFlag.STRONGLY_TYPED) to create_network()",
        # docs.nvidia.com/deeplearning/tensorrt/latest/_static/python-api/infer/Core/Builder.html);
        # TensorRT 11.0 keeps the flag, "retained for API compatibility but is ignored"
        # (docs.nvidia.com/deeplearning/tensorrt/11.0.0/_static/python-api/infer/Core/Builder.html):
        # networks are always strongly typed there.
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(graph):
        errors = "; ".join(str(parser.get_error(i)) for i in range(min(parser.num_errors, 3)))
        raise EngineError(f"TensorRT cannot parse the exported ONNX graph: {errors[:400]}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    if fp16 and not strongly_typed:
        # TensorRT 10 only (weak typing; removed in 11, TENSORRT_11_MIGRATION).
        config.set_flag(trt.BuilderFlag.FP16)
    previous = _read_cache(cache_path)
    cache = config.create_timing_cache(previous)
    reused = len(previous)
    if cache is None or not config.set_timing_cache(cache, False):
        if previous:
            warnings.warn(f"timing cache {cache_path} is from another TensorRT version or GPU; starting a new one",
                          RuntimeWarning, stacklevel=2)
        config.set_timing_cache(config.create_timing_cache(b""), False)
        reused = 0
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        said = last_error() or "no error message"
        raise EngineError(f"TensorRT could not build the plan ({said}); if it mentions memory, raise {param('workspace_mb')}")
    seconds = time.perf_counter() - started

    plan_path = Path(plan_path)
    with atomic_path(plan_path) as tmp:
        tmp.write_bytes(memoryview(serialized))
    if cache_path is not None:
        with atomic_path(cache_path) as tmp:
            tmp.write_bytes(memoryview(config.get_timing_cache().serialize()))
    plan_card = card.replace(backend="tensorrt", precision="fp16" if fp16 else "int8" if int8 else "fp32",
                             tensorrt_version=str(trt.__version__), gpu_name=info.name,
                             compute_capability=info.compute_capability)
    sidecar = write_sidecar(plan_path, plan_card)
    return PlanBuild(plan_card, sidecar, strongly_typed, cache_path, reused, seconds)
