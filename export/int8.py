"""INT8 post-training static quantisation of an exported graph (ONNX Runtime's tools, QDQ format).

Two flavours (:data:`TARGETS`):

* ``cpu``: unsigned 8-bit activations, signed 8-bit per-channel weights, the
  layout ONNX Runtime's CPU kernels run fastest on processors with VNNI;
* ``tensorrt``: signed 8-bit activations and per-channel weights, both
  symmetric (every zero point 0), biases float, the only Q/DQ form TensorRT's
  explicit quantisation accepts; TensorRT 10 and 11 build it as a strongly typed network.

The graph's ends stay float (:data:`ENDS`): the pre-processing (uint8 cast,
channel flip, normalisation), the first convolution, the last convolution, the
logits resize and the argmax (with its uint8 cast). They decide the labels and
cost little time; ``benchmarks/engines.py --int8-ends`` measures each. What the
float first convolution feeds (its activation, the stem's max pool) stays float
too, so the first quantised tensor is the pooled one, a quarter the size; FLAME's
ONNX Runtime sessions keep it there
(:data:`flame.runtime.engines.onnxrt.DISABLED_OPTIMIZERS`). In the cpu flavour a
BatchNorm that no convolution absorbs is quantised as a depthwise convolution
(:mod:`flame.export.batchnorm_conv`).

Calibration runs the float graph on input windows drawn evenly across the
calibration data set's sequences (:func:`flame.export.calibration.calibration_windows`), with the
min/max calibrator (its memory does not grow with the number of windows).

The calibration windows and reader live in :mod:`flame.export.calibration`, the
graph-end selection in :mod:`flame.export.graph_ends`.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from flame.core.choices import check_choice
from flame.core.deps import needs
from flame.core.errors import ConfigError, DependencyError, EngineError, first_line
from flame.evaluation.datasets import SequenceDataset
from flame.export.batchnorm_conv import batchnorm_to_conv
from flame.export.calibration import WindowReader, default_calibration
from flame.export.graph_ends import ENDS, check_ends, end_nodes

#: INT8 flavours, by deployment target.
TARGETS = ("cpu", "tensorrt")


@dataclass(frozen=True)
class Flavour:
    """Quantisation types of one target."""

    activations: str  # "uint8" or "int8"
    weights: str
    symmetric: bool
    quantize_bias: bool  # int32 biases through DequantizeLinear (ONNX Runtime) or float biases (TensorRT)
    batchnorm_as_conv: bool  # standalone BatchNorms quantised as depthwise convolutions (flame.export.batchnorm_conv)


#: TensorRT's Q/DQ layers take 8-bit (and FP8/INT4) tensors only, so its flavour keeps biases float; it fuses
#: a standalone BatchNorm into its neighbours itself, so its graph keeps them as they are.
FLAVOURS = {"cpu": Flavour("uint8", "int8", symmetric=False, quantize_bias=True, batchnorm_as_conv=True),
            "tensorrt": Flavour("int8", "int8", symmetric=True, quantize_bias=False, batchnorm_as_conv=False)}


@dataclass(frozen=True)
class Quantized:
    """What a quantisation did.

    Attributes:
        model: the QDQ graph (``onnx.ModelProto``).
        target: ``cpu`` or ``tensorrt``.
        windows: calibration windows used.
        kept_float: end name -> names of the nodes kept float for it.
        quantize_nodes: QuantizeLinear nodes in the graph.
    """

    model: Any
    target: str
    windows: int
    kept_float: dict[str, list[str]]
    quantize_nodes: int


def check_target(target: str) -> str:
    """``target`` if it is one of :data:`TARGETS`; raises ConfigError on any other name."""
    return check_choice(target, TARGETS, "INT8 target", "int8_target")


def _import_quantization() -> Any:
    with needs("INT8 export", "onnxruntime's quantisation tools and sympy",
               "pip install onnxruntime sympy (or pip install -e '.[train]')"):
        from onnxruntime import quantization
    return quantization


def zero_points(model: Any) -> dict[str, np.ndarray]:
    """Zero point of every QuantizeLinear/DequantizeLinear node, read from the graph.

    Returns:
        node name -> its zero points (an empty array when the node has none,
        which the ONNX standard defines as 0).
    """
    from onnx import numpy_helper

    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                constants[node.output[0]] = numpy_helper.to_array(value)
    found = {}
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            name = node.input[2] if len(node.input) > 2 else ""
            if name and name not in constants:
                raise EngineError(f"zero point {name} of {node.name} is not a constant of the graph")
            found[node.name] = constants[name] if name else np.zeros(0, dtype=np.int8)
    return found


def nonzero_zero_points(model: Any) -> list[str]:
    """Names of the Q/DQ nodes whose zero point is not all zeros."""
    return [name for name, zp in zero_points(model).items() if np.any(zp != 0)]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the quantiser's root-logger chatter (per-tensor notices, rank-1 axis warnings)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _one_opset_per_domain(model: Any) -> None:
    """Merge repeated ``opset_import`` entries of a domain (``onnx.compose`` leaves them in wrapped foreign
    graphs), keeping the highest version: ONNX Runtime's quantiser refuses a model with two default domains."""
    versions: dict[str, int] = {}
    for opset in model.opset_import:
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        versions[domain] = max(versions.get(domain, 0), opset.version)
    del model.opset_import[:]
    for domain, version in versions.items():
        entry = model.opset_import.add()
        entry.domain, entry.version = domain, version


def quantize_int8(model: Any, windows: Sequence[np.ndarray], target: str = "cpu",
                  keep_float: Sequence[str] = ENDS) -> Quantized:
    """Quantise a float ONNX graph to INT8 (QDQ), calibrated on ``windows``.

    Args:
        model: the float graph (``onnx.ModelProto``; not modified).
        windows: calibration inputs (uint8 ``[T, H, W, 3]``), from :func:`flame.export.calibration.calibration_windows`.
        target: ``cpu`` or ``tensorrt`` (:data:`FLAVOURS`).
        keep_float: graph ends left in float (default all of :data:`ENDS`).

    Returns:
        A :class:`Quantized` whose model keeps the input's metadata (the card).

    Raises:
        ConfigError: on an unknown target or end, or no windows.
        DependencyError: without onnxruntime's quantisation tools or sympy.
        EngineError: when quantisation fails, or a tensorrt graph has a non-zero zero point.
    """
    import onnx

    from flame.export.fp16 import name_nodes

    flavour = FLAVOURS[check_target(target)]
    keep_float = check_ends(keep_float)
    if not windows:
        raise ConfigError("calibration needs at least one window")
    quantization = _import_quantization()
    types = {"uint8": quantization.QuantType.QUInt8, "int8": quantization.QuantType.QInt8}
    model = onnx.ModelProto.FromString(model.SerializeToString())
    name_nodes(model)
    _one_opset_per_domain(model)
    metadata = list(model.metadata_props)
    with tempfile.TemporaryDirectory(prefix="flame-int8-") as folder, _quiet():
        source, prepared, result = (Path(folder) / name for name in ("float.onnx", "prepared.onnx", "int8.onnx"))
        onnx.save(model, str(source))
        try:
            # Shape inference and graph optimisation first, as ONNX Runtime's quantiser expects (needs sympy).
            quantization.quant_pre_process(str(source), str(prepared))
            prepared_model = onnx.load(str(prepared))
            ends = end_nodes(prepared_model)
            excluded = [node for end in keep_float for node in ends[end]]
            if flavour.batchnorm_as_conv and batchnorm_to_conv(prepared_model, keep=excluded):
                onnx.save(prepared_model, str(prepared))
            # No CalibMaxIntermediateOutputs: the min/max calibrator keeps only per-tensor extremes, and with
            # a window count divisible by it ONNX Runtime 1.32 ends with "No data is collected".
            extra = {"ActivationSymmetric": flavour.symmetric, "WeightSymmetric": True,
                     "QuantizeBias": flavour.quantize_bias}
            quantization.quantize_static(
                str(prepared), str(result), WindowReader(windows, model.graph.input[0].name),
                quant_format=quantization.QuantFormat.QDQ, activation_type=types[flavour.activations],
                weight_type=types[flavour.weights], per_channel=True, nodes_to_exclude=excluded,
                calibrate_method=quantization.CalibrationMethod.MinMax, extra_options=extra)
            quantized = onnx.load(str(result))
        except ImportError as exc:
            raise DependencyError(f"INT8 export needs sympy for ONNX Runtime's shape inference: pip install sympy "
                                  f"(or pip install -e '.[train]') ({exc})") from exc
        except (RuntimeError, ValueError, onnx.checker.ValidationError) as exc:
            raise EngineError(f"INT8 quantisation failed: {first_line(exc)}") from exc
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(metadata)
    if flavour.symmetric:
        offenders = nonzero_zero_points(quantized)
        if offenders:
            raise EngineError(f"the {target} INT8 graph has {len(offenders)} non-zero zero point(s) "
                              f"(first {offenders[0]}); TensorRT accepts only symmetric quantisation")
    count = sum(node.op_type == "QuantizeLinear" for node in quantized.graph.node)
    return Quantized(quantized, target, len(windows), {end: ends[end] for end in keep_float}, count)


def int8_graph(graph: Any, card: Any, windows: Sequence[np.ndarray], calibration_name: str,
               target: str = "cpu") -> tuple[Any, Any, list[str]]:
    """The INT8 artifact graph of an exported float graph, with its card.

    Args:
        graph: the float ONNX graph of the deploy wrapper (card in its metadata).
        card: its card.
        windows: calibration windows from :func:`flame.export.calibration.calibration_windows`.
        calibration_name: the data set they came from (recorded in the card).
        target: ``cpu`` or ``tensorrt``.

    Returns:
        ``(QDQ graph with the INT8 card in its metadata, INT8 card, notes for the user)``.

    Raises:
        ConfigError, DependencyError, EngineError: see :func:`quantize_int8`.
    """
    from flame.export.onnx_export import set_card

    quantized = quantize_int8(graph, windows, target)
    int8_card = card.replace(precision="int8", extra={**card.extra, "int8": {
        "target": target, "calibration": calibration_name, "windows": len(windows)}})
    set_card(quantized.model, int8_card)
    kept = sum(len(nodes) for nodes in quantized.kept_float.values())
    notes = [f"INT8 ({target} target: {_describe(FLAVOURS[target])}), calibrated on {len(windows)} windows of "
             f"{calibration_name}; {quantized.quantize_nodes} quantised tensors, {kept} nodes kept float at the "
             f"graph's ends ({', '.join(quantized.kept_float)})"]
    return quantized.model, int8_card, notes


def _describe(flavour: Flavour) -> str:
    kind = "symmetric, zero points 0" if flavour.symmetric else "asymmetric"
    return f"{flavour.activations} activations, per-channel {flavour.weights} weights, {kind}"


def verify_int8(path: Any, card: Any, reference: Any, labels: Any, validation: SequenceDataset | None = None,
                windows: int = 8, reference_text: str = "the PyTorch wrapper") -> Any:
    """Parity of an INT8 artifact with the PyTorch wrapper on a data set's validation frames.

    Pixel agreement on ``windows`` windows spread over ``validation``, and the
    static mIoU of both on all its annotated frames.

    Args:
        path: the artifact (ONNX or TensorRT plan).
        card: its card.
        reference: the reference as a numpy callable returning what the artifact returns (labels or logits).
        labels: the reference returning label maps (for the mIoU).
        validation: default the synthetic video's val split.
        windows: windows of the agreement check.
        reference_text: what the reference is, for the report.

    Returns:
        A :class:`flame.export.parity.Parity` with the mIoU fields filled.
    """
    from dataclasses import replace

    from flame.export.parity import check_parity, dataset_windows, static_mious
    from flame.runtime.engines import load_engine

    validation = validation if validation is not None else default_calibration("val")
    inputs = dataset_windows(validation, card.window, tuple(card.input_size), windows)
    with load_engine(path) as engine:
        # Parity compares what the graphs return (labels, or logits for a logits export); mIoU the labels.
        parity = check_parity(reference, engine.raw, inputs, card, "int8", f"{engine.backend} on {engine.device}",
                              reference_text=reference_text)
        miou_reference, miou = static_mious(labels, engine, validation, card)
    return replace(parity, miou_reference=miou_reference, miou=miou, miou_dataset=validation.name)
