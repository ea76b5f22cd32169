"""``export_foreign``: a user's segmentation ONNX becomes a FLAME artifact, verified.

The user's graph is wrapped (:mod:`flame.export.foreign_graph`) into our engine
contract, gets a model card, and is written as ONNX (FP32 or FP16) or built
into a TensorRT plan exactly as a checkpoint's export is. Verification runs the
*unwrapped* model with ONNX Runtime on frames preprocessed on the host
(:mod:`flame.export.host_reference`) and compares label maps with the artifact's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from flame.core.card import ModelCard, precision_of, precision_tag
from flame.core.errors import ConfigError, DataError, first_line, param
from flame.export.calibration import DEFAULT_CALIBRATION_FRAMES
from flame.export.exporter import ExportResult, check_options, format_of, int8_job_of, verify_artifact
from flame.export.formats import EXPORT_FORMATS, ExportJob
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
from flame.export.overwrite import check_overwrite

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

    Args:
        model_path: the user's ``.onnx`` (float NCHW in, scores ``[1, C, h, w]`` or class ids out).
        out: the artifact; default beside the model (:func:`default_foreign_output`).
        fmt: ``onnx`` or ``tensorrt``; default from ``out``'s suffix, else ``onnx``.
        fp16: FP16 artifact (graph ends and risky ops kept FP32, as for checkpoints).
        size: input ``(H, W)``; required when the model's spatial axes are dynamic.
        mean, std: the model's normalisation, in its channel order, on the 0..1 or 0..255 scale
            (:func:`flame.export.host_reference.preprocessing`); default ImageNet's.
        channels: ``rgb`` or ``bgr``, the order the model takes.
        scale: ``auto`` (values above 1 mean 0..255), ``0-1`` or ``0-255``.
        classes: ``cityscapes`` or a file with one class name per line.
        palette: optional file with one ``R,G,B`` per class.
        window: frames per input (``3 * window`` channels, oldest frame first).
        fps: frame rate the model's window was trained at (frame spacing of a multi-frame window).
        input_name, output_name: the tensors to use when the graph has several.
        output: ``labels`` or ``logits`` (upsampled scores; not for models that output class ids).
        verify: compare the artifact with the host reference.
        timing_cache, workspace_mb: TensorRT builder options.
        windows: input windows of the parity check.
        on_step: called with a short description before each step.
        int8, int8_target, calibration, calibration_frames, validation: INT8 artifact, as for
            :func:`flame.export.exporter.export_checkpoint` (the wrapped graph is quantised; its
            ends, the preprocessing and the upsampling with argmax, stay float).
        force: replace an existing ``out`` whatever it holds (see :mod:`flame.export.overwrite`).
        layout: ``nchw``, ``nhwc`` (TensorFlow, Keras, TFLite: channels last in and out) or ``auto`` (NHWC
            when the input's last axis holds the 3T channels and its second does not; said in the notes).
        threshold: for a model with one score channel (two classes, background and its class): the score
            above which a pixel is its class; default 0.5 when the output comes from a Sigmoid, else 0.

    Raises:
        ConfigError: on options that do not fit the model (classes, window, size, names), or an
            existing ``out`` made with other options (without ``force``).
        DataError: on a graph that is no segmentation model.
        EngineError: on a file that is not ONNX, or a graph that cannot be wrapped.
        DependencyError: when onnx, ONNX Runtime or the format's backend is missing.
    """
    from flame.export.onnx_export import load_onnx, set_card

    started = time.perf_counter()
    step = on_step or (lambda message: None)
    exporter = EXPORT_FORMATS[format_of(out, fmt)]
    if exporter.write_graph is None:
        graph_formats = [f.name for f in EXPORT_FORMATS.values() if f.write_graph is not None]
        raise ConfigError(f"a {exporter.name} artifact is made from a torch module; an ONNX model exports to "
                          f"{' or '.join(graph_formats)} ({param('fmt')})")
    exporter, int8_target = check_options(out, fmt, output, fp16, int8, int8_target)
    model_path = Path(model_path)
    out = Path(out) if out is not None else default_foreign_output(model_path, exporter.name, fp16, int8)
    if out.resolve() == model_path.resolve():
        raise ConfigError(f"the artifact would overwrite the model {model_path}: name another output ({param('out')})")
    pre = preprocessing(mean, std, channels, scale)
    source = model_path.name

    step(f"reading {model_path}")
    model = with_opset(load_onnx(model_path), source)
    io, layout_note = resolve_layout(inspect_graph(model, input_name, output_name, source), layout, window, source)
    _check_window(io, window, source)
    size = _input_size(io.spatial_static, size, source)
    session = _session(model, source)
    step(f"probing {source} at 1x{3 * window}x{size[0]}x{size[1]}")
    raw = probe(session, io, window, size, source)
    kind, count = classify_output(raw.shape, raw.dtype, source, io.layout)
    if kind == "labels" and output == "logits":
        raise ConfigError(f"{source} outputs class ids, not scores: it can only export labels, not logits",
                          parameter="output")
    if threshold is not None and kind != "binary":
        raise ConfigError(f"{param('threshold')} applies to a model with one score channel; {source} outputs "
                          f"{list(raw.shape)}")
    probabilities = kind == "binary" and outputs_probabilities(model, io.output_name)
    cut = (threshold if threshold is not None else 0.5 if probabilities else 0.0) if kind == "binary" else 0.5
    names, named_palette = read_classes(classes, count) if classes is not None or kind != "binary" else \
        (list(BINARY_CLASSES), None)
    colours = read_palette(palette, len(names)) if palette is not None else named_palette
    if colours is None:
        from flame.evaluation.datasets.base import default_palette

        colours = default_palette(len(names))
    mean01, std01 = pre.rgb01()
    card = ModelCard(
        architecture=ARCHITECTURE, num_classes=len(names), class_names=tuple(names),
        palette=tuple(tuple(int(v) for v in c) for c in colours), window=window, offset=0, fps=fps,
        mean=mean01, std=std01, input_size=size, mode="custom", output=output, precision="fp32", backend="onnx",
        extra={"source": source, "model_input": io.input_name, "model_output": io.output_name,
               "model_output_kind": kind, "model_output_shape": list(raw.shape), "channels": pre.channels,
               "mean_0_255": list(pre.mean), "std_0_255": list(pre.std), "opset": io.opset, "layout": io.layout,
               **({"threshold": cut, "probabilities": probabilities} if kind == "binary" else {})})
    resized = tuple(channels_first(tuple(raw.shape), io.layout)[2:]) != size
    notes = ([layout_note] if layout_note else []) + [
        f"preprocessing: {pre.describe()}",
        f"model output {io.output_name!r} {list(raw.shape)} {raw.dtype}"
        + (" (channels last)" if io.layout == "nhwc" else "") + ": "
        + ("class ids, resized with nearest neighbour" if kind == "labels" else
           (f"one score channel ({'probabilities: it ends in a Sigmoid' if probabilities else 'logits'}), "
            f"{'upsampled bilinearly, ' if resized else ''}class {names[1]!r} where above {cut:g}, else "
            f"{names[0]!r} (--threshold)" if kind == "binary" else
            ("scores, upsampled bilinearly, then argmax" if resized else "scores, argmax")))]
    step("wrapping the graph (onnx.compose: preprocessing, model, upsampling, argmax)")
    graph = wrap_graph(model, io, pre, window, size, kind, tuple(raw.shape), output, cut)
    set_card(graph, card)
    int8_job = int8_job_of(card, int8_target, calibration, calibration_frames, step)
    replaced = check_overwrite(out, exporter.name, card.replace(precision=precision_of(fp16, int8_job is not None)),
                               force, int8_job)
    written = exporter.write_graph(graph, ExportJob(None, card, out, fp16, timing_cache, workspace_mb, step,
                                                    int8_job))
    if replaced:
        written.notes.append(replaced)
    parity = None
    if verify and int8_job is not None:
        from flame.export.int8 import verify_int8

        step("checking parity and the static mIoU change on the validation frames against the foreign model")
        parity = verify_int8(out, written.card, host_reference(session, io, pre, kind, size, output, cut),
                             host_reference(session, io, pre, kind, size, "labels", cut), validation, max(windows, 8),
                             FOREIGN_REFERENCE)
    elif verify:
        parity = verify_artifact(out, written.card, host_reference(session, io, pre, kind, size, output, cut),
                                 windows, step, FOREIGN_REFERENCE)
    return ExportResult(out, written.card, out.stat().st_size, parity, tuple(written.extra_files),
                        time.perf_counter() - started, tuple(notes) + tuple(written.notes))
