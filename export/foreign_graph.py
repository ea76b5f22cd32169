"""A foreign segmentation ONNX, wrapped into a FLAME graph with ``onnx.compose``.

Users export their networks the way mmsegmentation, SMP, torchvision or
Hugging Face do: float NCHW in, normalised their way, logits ``[1, C, h, w]``
out (often at 1/4 or 1/8 of the input), dynamic batch or spatial axes, their
own tensor names. :func:`wrap_graph` puts a prefix and a suffix around such a
graph so that it keeps our engine contract (``docs/architecture.md``):

    frames uint8 [T, H, W, 3] BGR --prefix--> float [1, 3T, H, W] --model--> scores --suffix--> labels uint8 [H, W]

The prefix casts, reorders the channels the model wants, normalises with its
mean and std, and stacks the window oldest first; the suffix upsamples
smaller logits bilinearly to the input size and takes the argmax (or resizes
class ids with nearest neighbour when the model ends in its own ArgMax). Both
are small ONNX graphs (:mod:`flame.export.foreign_ends`) built with ``onnx.helper`` at the foreign model's own
opset and IR version and joined to it by ``onnx.compose.merge_models``; the
same computation on the host is :mod:`flame.export.host_reference`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from flame.core.errors import ConfigError, DataError, EngineError, first_line, param
from flame.export.foreign_ends import PREFIX_OUT, SUFFIX_IN, prefix_graph, suffix_graph
from flame.export.host_reference import Preprocessing

#: Oldest opset whose Resize takes ``sizes`` (and whose ops we use); older graphs are converted first.
MIN_OPSET = 11
#: Prefix of every name of the user's graph inside the wrapped one.
MODEL_PREFIX = "model/"


@dataclass(frozen=True)
class ForeignIO:
    """The tensors of a foreign graph that FLAME connects to.

    Attributes:
        input_name: the image input.
        input_shape: its declared dims (int, a symbolic name, or None).
        input_type: its ONNX element type (``onnx.TensorProto`` enum).
        output_name: the output read.
        output_shape: its declared dims.
        output_type: its ONNX element type.
        opset: the default-domain opset of the graph.
        layout: ``nchw`` (PyTorch, mmsegmentation...) or ``nhwc`` (TensorFlow, Keras, TFLite: channels last,
            in the input and the output alike); see :func:`resolve_layout`.
    """

    input_name: str
    input_shape: tuple[int | str | None, ...]
    input_type: int
    output_name: str
    output_shape: tuple[int | str | None, ...]
    output_type: int
    opset: int
    layout: str = "nchw"

    @property
    def channels(self) -> int | str | None:
        """The input's channel dimension as declared."""
        return self.input_shape[3 if self.layout == "nhwc" else 1] if len(self.input_shape) == 4 else None

    @property
    def spatial_static(self) -> tuple[int, int] | None:
        """The input's (H, W) when both are fixed in the graph."""
        dims = self.input_shape[1:3] if self.layout == "nhwc" else self.input_shape[2:]
        if len(self.input_shape) == 4 and all(isinstance(d, int) for d in dims):
            return int(dims[0]), int(dims[1])  # type: ignore[arg-type]
        return None

    def input_dims(self, window: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """The input's static shape for ``window`` frames at ``size``, in the graph's layout."""
        return (1, *size, 3 * window) if self.layout == "nhwc" else (1, 3 * window, *size)


#: Input layouts a foreign graph may take (``--layout``); ``auto`` reads it from the input's shape.
LAYOUTS = ("auto", "nchw", "nhwc")


def resolve_layout(io: ForeignIO, layout: str, window: int, source: str) -> tuple[ForeignIO, str | None]:
    """``io`` with its layout decided, and a note when it was assumed from the shape.

    ``auto`` reads NHWC only where the shape says so unambiguously: a last axis of 3T channels and a second
    axis that is not (TensorFlow, Keras and TFLite models take ``[1, H, W, 3]``); anything else is NCHW.

    Raises:
        ConfigError: on an unknown layout.
    """
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown {param('layout')} {layout!r}; choose one of {', '.join(LAYOUTS)}")
    shape = io.input_shape
    note = None
    if layout == "auto":
        last_is_channels = len(shape) == 4 and shape[3] == 3 * window and shape[1] != 3 * window
        layout = "nhwc" if last_is_channels else "nchw"
        if last_is_channels:
            dims = ", ".join("?" if d is None else str(d) for d in shape)
            note = (f"input {io.input_name!r} [{dims}] read as NHWC (channels last, as TensorFlow, Keras and TFLite "
                    f"export): its last axis holds the {3 * window} channels; --layout nchw says otherwise")
    return replace(io, layout=layout), note


def _dims(value: Any) -> tuple[int | str | None, ...]:
    dims = []
    for dim in value.type.tensor_type.shape.dim:
        if dim.HasField("dim_value") and dim.dim_value > 0:
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or None)
    return tuple(dims)


def _pick(values: list, name: str | None, what: str, source: str) -> Any:
    """The graph input or output called ``name`` (the first when None)."""
    if name is None:
        return values[0]
    found = next((v for v in values if v.name == name), None)
    if found is None:
        raise ConfigError(f"{source} has no {what} {name!r} ({param(what + '_name')}); its {what}s: "
                          f"{', '.join(v.name for v in values)}")
    return found


def inspect_graph(model: Any, input_name: str | None = None, output_name: str | None = None,
                  source: str = "the model") -> ForeignIO:
    """Find the image input and the output to read.

    Raises:
        ConfigError: when the graph has several inputs and none is named, or a
            named input or output does not exist.
        DataError: when the input is not a rank-4 float tensor.
    """
    initializers = {init.name for init in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    outputs = list(model.graph.output)
    if not inputs or not outputs:
        raise DataError(f"{source} has no graph {'input' if not inputs else 'output'}")
    if input_name is None and len(inputs) > 1:
        raise ConfigError(f"{source} has {len(inputs)} inputs ({', '.join(v.name for v in inputs)}): "
                          f"name the one that takes the image ({param('input_name')})")
    chosen_in = _pick(inputs, input_name, "input", source)
    chosen_out = _pick(outputs, output_name, "output", source)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    io = ForeignIO(chosen_in.name, _dims(chosen_in), chosen_in.type.tensor_type.elem_type, chosen_out.name,
                   _dims(chosen_out), chosen_out.type.tensor_type.elem_type, int(opset))
    from onnx import TensorProto

    if len(io.input_shape) != 4 or io.input_type not in (TensorProto.FLOAT, TensorProto.FLOAT16):
        raise DataError(f"{source}: input {io.input_name!r} is {_describe(io.input_shape, io.input_type)}; "
                        "expected a float image batch [N, C, H, W]")
    return io


def _describe(shape: tuple, elem_type: int) -> str:
    from onnx import helper

    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"{helper.tensor_dtype_to_np_dtype(elem_type)} [{dims}]" if elem_type else f"[{dims}]"


def classify_output(shape: tuple[int, ...], dtype: np.dtype, source: str = "the model",
                    layout: str = "nchw") -> tuple[str, int | None]:
    """What a probe run's output is: ``("scores", C)``, ``("binary", 2)`` or ``("labels", None)``.

    A single score channel is a binary segmenter (person, road...): two classes, background and the model's
    class, by a threshold. An NHWC model's output is channels last as well.

    Raises:
        DataError: when it is no segmentation output (a classifier's ``[1, 1000]``...).
    """
    integer = np.issubdtype(dtype, np.integer)
    channels = shape[3] if layout == "nhwc" and len(shape) == 4 else (shape[1] if len(shape) == 4 else None)
    if len(shape) == 4 and not integer and shape[0] == 1:
        return ("binary", 2) if channels == 1 else ("scores", int(channels))  # type: ignore[arg-type]
    single = (1, 1) if layout == "nchw" else None
    if integer and (len(shape) == 3 and shape[0] == 1 or len(shape) == 4 and (
            shape[:2] == single or layout == "nhwc" and (shape[0], shape[3]) == (1, 1))):
        return "labels", None
    raise DataError(f"{source} is not a segmentation model: its output has shape {list(shape)} ({dtype}); "
                    "expected scores [1, C, h, w] (logits or probabilities) or class ids [1, h, w]")


def with_opset(model: Any, source: str = "the model") -> Any:
    """The model at opset >= :data:`MIN_OPSET` (converted with onnx's version converter when older).

    Raises:
        EngineError: when the conversion fails.
    """
    from onnx import version_converter

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset >= MIN_OPSET:
        return model
    try:
        return version_converter.convert_version(model, 13)
    except Exception as exc:  # the converter raises plain RuntimeErrors
        raise EngineError(f"{source} uses opset {opset}; converting it to opset 13 failed ({first_line(exc)})") from exc


def _fix_shapes(model: Any, io: ForeignIO, window: int, size: tuple[int, int], model_out: tuple[int, ...]) -> Any:
    """A copy whose image input is static (``[1, 3T, H, W]`` or NHWC), its output the probed shape, the rest
    re-inferred."""
    import onnx

    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        if value.name == io.input_name:
            dims = value.type.tensor_type.shape.dim
            for dim, size_ in zip(dims, io.input_dims(window, size)):
                dim.Clear()
                dim.dim_value = size_
    # Shapes written for dynamic axes would contradict the fixed ones: let inference redo them.
    del fixed.graph.value_info[:]
    for value in fixed.graph.output:
        shape = value.type.tensor_type.shape
        shape.ClearField("dim")
        if value.name == io.output_name:
            for size_ in model_out:
                shape.dim.add().dim_value = int(size_)
    return fixed


def wrap_graph(model: Any, io: ForeignIO, pre: Preprocessing, window: int, size: tuple[int, int], kind: str,
               model_out: tuple[int, ...], result: str = "labels", threshold: float = 0.5) -> Any:
    """The FLAME graph around a foreign model.

    Args:
        model: the foreign ``onnx.ModelProto`` (at opset >= :data:`MIN_OPSET`; not modified).
        io: its tensors from :func:`inspect_graph`.
        pre: its preprocessing.
        window: frames per input (the model takes ``3 * window`` channels, oldest frame first).
        size: the input ``(H, W)``.
        kind: ``scores``, ``binary`` or ``labels`` (from :func:`classify_output`).
        model_out: the output's shape at that size (from a probe run).
        result: ``labels`` or ``logits`` (scores only).
        threshold: a binary model's score above which a pixel is its class.

    Returns:
        A model with input ``frames`` uint8 ``[T, H, W, 3]`` and one output named ``result``.

    Raises:
        EngineError: when onnx cannot compose or check the graph.
    """
    import onnx
    from onnx import compose

    fixed = _fix_shapes(model, io, window, size, model_out)
    ir_version = fixed.ir_version
    try:
        # Every name of the user's graph gets a prefix, so none can clash with ours ("frames", "labels"...).
        fixed = compose.add_prefix(fixed, MODEL_PREFIX)
        model_in, model_output = MODEL_PREFIX + io.input_name, MODEL_PREFIX + io.output_name
        front = compose.merge_models(prefix_graph(io, pre, window, size, ir_version), fixed,
                                     io_map=[(PREFIX_OUT, model_in)], outputs=[model_output])
        wrapped = compose.merge_models(front, suffix_graph(io, kind, model_out, size, result, ir_version, threshold),
                                       io_map=[(model_output, SUFFIX_IN)], outputs=[result])
        wrapped = onnx.shape_inference.infer_shapes(wrapped)
        onnx.checker.check_model(wrapped)
    except Exception as exc:  # onnx raises ValueError, ValidationError, InferenceError...
        raise EngineError(f"cannot wrap the model into a FLAME graph: {first_line(exc)}") from exc
    wrapped.graph.name = f"flame({model.graph.name or 'model'})"
    return wrapped


#: Ops that move or reshape a tensor without changing its values (walked through to find a Sigmoid).
_PASS_THROUGH = {"Transpose", "Reshape", "Identity", "Squeeze", "Unsqueeze", "Flatten", "Resize", "Upsample", "Cast"}


def outputs_probabilities(model: Any, output_name: str) -> bool:
    """Whether the output comes from a Sigmoid or Softmax (through layout ops only): probabilities, not logits."""
    producers = {out: node for node in model.graph.node for out in node.output}
    name = output_name
    for _ in range(32):
        node = producers.get(name)
        if node is None:
            return False
        if node.op_type in ("Sigmoid", "Softmax", "HardSigmoid"):
            return True
        if node.op_type not in _PASS_THROUGH:
            return False
        name = node.input[0]
    return False
