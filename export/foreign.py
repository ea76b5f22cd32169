"""``export_foreign``: a user's segmentation ONNX becomes a FLAME artifact, verified.

The user's graph is wrapped (:mod:`flame.export.foreign_graph`) into our engine
contract, gets a model card, and is written as ONNX (FP32 or FP16) or built
into a TensorRT plan exactly as a checkpoint's export is. Verification runs the
*unwrapped* model with ONNX Runtime on frames preprocessed on the host
(:mod:`flame.export.host_reference`) and compares label maps with the artifact's.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from flame.core.card import ModelCard, precision_of, precision_tag
from flame.core.errors import ConfigError, DataError, first_line, param
from flame.export.calibration import DEFAULT_CALIBRATION_FRAMES
from flame.export.formats import EXPORT_FORMATS, ExportFormat
from flame.export.foreign_classes import BINARY_CLASSES, read_classes, read_palette
from flame.export.foreign_ends import channels_first
from flame.export.foreign_graph import (
    ForeignIO,
    classify_output,
    inspect_graph,
    outputs_probabilities,
    resolve_layout,
    with_opset,
    wrap_graph,
)
from flame.export.host_reference import Preprocessing, host_postprocess, host_preprocess, preprocessing
from flame.export.options import ExportOptions, Int8Options, TensorRTOptions
from flame.export.pipeline import ExportResult, Prepared, export

ARCHITECTURE = "foreign"
#: What a foreign artifact is checked against.
FOREIGN_REFERENCE = "the foreign model (ONNX Runtime, host preprocessing)"


def default_foreign_output(model: str | os.PathLike, fmt: str, fp16: bool, int8: bool = False) -> Path:
    """Beside the model, never onto it: ``seg.onnx`` -> ``seg.flame.onnx``, ``seg.flame.fp16.plan``, ``seg.flame.int8.onnx``..."""
    model = Path(model)
    return model.with_name(f"{model.stem}.flame{precision_tag(precision_of(fp16, int8))}"
                           f"{EXPORT_FORMATS[fmt].suffixes[0]}")


def _session(model: Any, source: str) -> Any:
    from flame.runtime.engines.onnxrt import import_ort, open_session

    try:
        # log_severity_level 4: a failing probe is reported by us, in one line.
        return open_session(import_ort(), model.SerializeToString(), ["CPUExecutionProvider"], log_severity_level=4)
    except Exception as exc:  # ORT's own exception types
        raise DataError(f"ONNX Runtime cannot load {source}: {first_line(exc)}") from exc


def _check_window(io: ForeignIO, window: int, source: str) -> None:
    if window < 1:
        raise ConfigError(f"expected a {param('window')} of at least 1 frame, found {window}")
    channels = io.channels
    if isinstance(channels, int) and channels != 3 * window:
        hint = f"; a window of {channels // 3} frames would fit" if channels % 3 == 0 else ""
        other = "nhwc" if io.layout == "nchw" else "nchw"
        axis = "last" if io.layout == "nhwc" else "second"
        raise ConfigError(f"{source} takes {channels} input channels but a window of {window} frame"
                          f"{'s' if window > 1 else ''} gives {3 * window}{hint} ({param('window')}); the channels "
                          f"were read on the {axis} axis ({io.layout.upper()}): for a channels-"
                          f"{'last' if other == 'nhwc' else 'first'} model pass {param('layout')} {other}")


def _input_size(static: tuple[int, int] | None, size: tuple[int, int] | None, source: str) -> tuple[int, int]:
    if size is not None:
        if min(size) <= 0:
            raise ConfigError(f"expected a positive input {param('size')}, found {size[0]}x{size[1]}")
        if static is not None and tuple(size) != static:
            raise ConfigError(f"{source} has a fixed input size {static[0]}x{static[1]}; asked for "
                              f"{param('size')} {size[0]}x{size[1]}")
        return int(size[0]), int(size[1])
    if static is None:
        raise ConfigError(f"{source} has dynamic spatial axes: give the input size ({param('size')} HxW)")
    return static


def probe(session: Any, io: Any, window: int, size: tuple[int, int], source: str) -> np.ndarray:
    """Run the foreign model once at ``[1, 3T, H, W]``; returns its output.

    Raises:
        ConfigError: when the model does not run at that size (a size it cannot divide, mostly).
    """
    from onnx import helper

    dtype = helper.tensor_dtype_to_np_dtype(io.input_type)
    x = np.zeros(io.input_dims(window, size), dtype)
    try:
        return np.asarray(session.run([io.output_name], {io.input_name: x})[0])
    except Exception as exc:  # ORT's own exception types
        raise ConfigError(f"{source} does not run at input size {size[0]}x{size[1]} ({first_line(exc, 160)}); "
                          f"networks that downsample need a {param('size')} divisible by their stride (often 8, 16 or 32)"
                          ) from exc


def host_reference(session: Any, io: Any, pre: Preprocessing, kind: str, size: tuple[int, int],
                   result: str, threshold: float = 0.5) -> Callable[[np.ndarray], np.ndarray]:
    """The foreign model as a FLAME predictor, with pre- and postprocessing on the host."""

    from onnx import helper

    dtype = helper.tensor_dtype_to_np_dtype(io.input_type)  # float16 models take float16

    def predict(frames: np.ndarray) -> np.ndarray:
        x = host_preprocess(frames, pre, io.layout).astype(dtype)
        raw = session.run([io.output_name], {io.input_name: x})[0]
        return host_postprocess(np.asarray(raw), kind, size, result, io.layout, threshold)

    return predict


@dataclass(frozen=True)
class ForeignSpec:
    """How a foreign model reads its input and what its output means (``flame-export MODEL.onnx``'s options).

    Attributes:
        mean, std: the model's normalisation, in its channel order, on the 0..1 or 0..255 scale
            (:func:`flame.export.host_reference.preprocessing`); default ImageNet's.
        channels: ``rgb`` or ``bgr``, the order the model takes.
        scale: ``auto`` (values above 1 mean 0..255), ``0-1`` or ``0-255``.
        classes: ``cityscapes`` or a file with one class name per line.
        palette: optional file with one ``R,G,B`` per class.
        window: frames per input (``3 * window`` channels, oldest frame first).
        fps: frame rate the model's window was trained at (frame spacing of a multi-frame window).
        input_name, output_name: the tensors to use when the graph has several.
        layout: ``nchw``, ``nhwc`` (TensorFlow, Keras, TFLite: channels last in and out) or ``auto`` (NHWC
            when the input's last axis holds the 3T channels and its second does not; said in the notes).
        threshold: for a model with one score channel (two classes, background and its class): the score
            above which a pixel is its class; default 0.5 when the output comes from a Sigmoid, else 0.
    """

    mean: str | Sequence[float] | None = None
    std: str | Sequence[float] | None = None
    channels: str = "rgb"
    scale: str = "auto"
    classes: str | os.PathLike | None = None
    palette: str | os.PathLike | None = None
    window: int = 1
    fps: float = 30.0
    input_name: str | None = None
    output_name: str | None = None
    layout: str = "auto"
    threshold: float | None = None


class ForeignSource:
    """A user's segmentation ONNX as a model source: wrapped into a FLAME graph, checked against itself."""

    def __init__(self, model_path: str | os.PathLike, spec: ForeignSpec | None = None) -> None:
        self.path = Path(model_path)
        self.spec = spec or ForeignSpec()

    def check(self, exporter: ExportFormat, options: ExportOptions) -> None:
        if exporter.write_graph is None:
            graph_formats = [f.name for f in EXPORT_FORMATS.values() if f.write_graph is not None]
            raise ConfigError(f"a {exporter.name} artifact is made from a torch module; an ONNX model exports to "
                              f"{' or '.join(graph_formats)} ({param('fmt')})")
        if options.out is not None and Path(options.out).resolve() == self.path.resolve():
            raise ConfigError(f"the artifact would overwrite the model {self.path}: name another output "
                              f"({param('out')})")

    def default_output(self, exporter: ExportFormat, options: ExportOptions) -> Path:
        return default_foreign_output(self.path, exporter.name, options.fp16, options.int8 is not None)

    @contextlib.contextmanager
    def prepare(self, out: Path, options: ExportOptions) -> Iterator[Prepared]:
        from flame.export.onnx_export import load_onnx, set_card

        spec, source, window = self.spec, self.path.name, self.spec.window
        pre = preprocessing(spec.mean, spec.std, spec.channels, spec.scale)
        options.step(f"reading {self.path}")
        model = with_opset(load_onnx(self.path), source)
        io, layout_note = resolve_layout(inspect_graph(model, spec.input_name, spec.output_name, source), spec.layout,
                                         window, source)
        _check_window(io, window, source)
        size = _input_size(io.spatial_static, options.size, source)
        session = _session(model, source)
        options.step(f"probing {source} at 1x{3 * window}x{size[0]}x{size[1]}")
        raw = probe(session, io, window, size, source)
        kind, count = classify_output(raw.shape, raw.dtype, source, io.layout)
        if kind == "labels" and options.output == "logits":
            raise ConfigError(f"{source} outputs class ids, not scores: it can only export labels, not logits",
                              parameter="output")
        if spec.threshold is not None and kind != "binary":
            raise ConfigError(f"{param('threshold')} applies to a model with one score channel; {source} outputs "
                              f"{list(raw.shape)}")
        probabilities = kind == "binary" and outputs_probabilities(model, io.output_name)
        cut = (spec.threshold if spec.threshold is not None else 0.5 if probabilities else 0.0) \
            if kind == "binary" else 0.5
        card, notes = foreign_card(spec, source, pre, io, raw, kind, count, size, options.output, cut, probabilities)
        options.step("wrapping the graph (onnx.compose: preprocessing, model, upsampling, argmax)")
        graph = wrap_graph(model, io, pre, window, size, kind, tuple(raw.shape), options.output, cut)
        set_card(graph, card)
        yield Prepared(card, graph=graph,
                       reference=host_reference(session, io, pre, kind, size, options.output, cut),
                       labels=host_reference(session, io, pre, kind, size, "labels", cut),
                       reference_text=FOREIGN_REFERENCE, notes=([layout_note] if layout_note else []) + notes)


def foreign_card(spec: ForeignSpec, source: str, pre: Preprocessing, io: ForeignIO, raw: np.ndarray, kind: str,
                 count: int | None, size: tuple[int, int], output: str, cut: float,
                 probabilities: bool) -> tuple[ModelCard, list[str]]:
    """The card of a wrapped foreign model, and the notes that say how its input and output were read.

    Raises:
        ConfigError: when the classes or palette do not fit the model.
    """
    names, named_palette = read_classes(spec.classes, count) if spec.classes is not None or kind != "binary" else \
        (list(BINARY_CLASSES), None)
    colours = read_palette(spec.palette, len(names)) if spec.palette is not None else named_palette
    if colours is None:
        from flame.evaluation.datasets.base import default_palette

        colours = default_palette(len(names))
    mean01, std01 = pre.rgb01()
    card = ModelCard(
        architecture=ARCHITECTURE, num_classes=len(names), class_names=tuple(names),
        palette=tuple(tuple(int(v) for v in c) for c in colours), window=spec.window, offset=0, fps=spec.fps,
        mean=mean01, std=std01, input_size=size, mode="custom", output=output, precision="fp32", backend="onnx",
        extra={"source": source, "model_input": io.input_name, "model_output": io.output_name,
               "model_output_kind": kind, "model_output_shape": list(raw.shape), "channels": pre.channels,
               "mean_0_255": list(pre.mean), "std_0_255": list(pre.std), "opset": io.opset, "layout": io.layout,
               **({"threshold": cut, "probabilities": probabilities} if kind == "binary" else {})})
    resized = tuple(channels_first(tuple(raw.shape), io.layout)[2:]) != size
    if kind == "labels":
        reading = "class ids, resized with nearest neighbour"
    elif kind == "binary":
        reading = (f"one score channel ({'probabilities: it ends in a Sigmoid' if probabilities else 'logits'}), "
                   f"{'upsampled bilinearly, ' if resized else ''}class {names[1]!r} where above {cut:g}, else "
                   f"{names[0]!r} (--threshold)")
    else:
        reading = "scores, upsampled bilinearly, then argmax" if resized else "scores, argmax"
    layout = " (channels last)" if io.layout == "nhwc" else ""
    notes = [f"preprocessing: {pre.describe()}",
             f"model output {io.output_name!r} {list(raw.shape)} {raw.dtype}{layout}: {reading}"]
    return card, notes


def export_foreign(model_path: str | os.PathLike, out: str | os.PathLike | None = None, fmt: str | None = None,
                   fp16: bool = False, size: tuple[int, int] | None = None,
                   mean: str | Sequence[float] | None = None, std: str | Sequence[float] | None = None,
                   channels: str = "rgb", scale: str = "auto", classes: str | os.PathLike | None = None,
                   palette: str | os.PathLike | None = None, window: int = 1, fps: float = 30.0,
                   input_name: str | None = None, output_name: str | None = None, output: str = "labels",
                   verify: bool = True, timing_cache: str | os.PathLike | None = None, workspace_mb: int = 1024,
                   windows: int = 4, on_step: Callable[[str], None] | None = None, int8: bool = False,
                   int8_target: str | None = None, calibration: Any = None,
                   calibration_frames: int = DEFAULT_CALIBRATION_FRAMES,
                   validation: Any = None, force: bool = False, layout: str = "auto",
                   threshold: float | None = None) -> ExportResult:
    """Wrap a foreign segmentation ONNX into a FLAME artifact and verify it.

    The options are :class:`ForeignSpec`'s (how the model reads its input and what its output means) and
    :class:`~flame.export.options.ExportOptions`' (``out`` default beside the model,
    :func:`default_foreign_output`; ``fmt`` ``onnx`` or ``tensorrt``), as keywords.

    Raises:
        ConfigError: on options that do not fit the model (classes, window, size, names, layout), or an
            existing ``out`` made with other options (without ``force``).
        DataError: on a graph that is no segmentation model.
        EngineError: on a file that is not ONNX, or a graph that cannot be wrapped.
        DependencyError: when onnx, ONNX Runtime or the format's backend is missing.
    """
    spec = ForeignSpec(mean, std, channels, scale, classes, palette, window, fps, input_name, output_name, layout,
                       threshold)
    int8_options = Int8Options(int8_target, calibration, calibration_frames, validation) if int8 else None
    options = ExportOptions(out, fmt, fp16, int8_options, TensorRTOptions(timing_cache, workspace_mb), size, output,
                            verify, windows, force, on_step)
    return export(ForeignSource(model_path, spec), options)
