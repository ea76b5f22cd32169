"""``flame-export``: a checkpoint (or a foreign segmentation ONNX) to ONNX (FP32/FP16), a TensorRT plan or a .pt2."""

from __future__ import annotations

import sys
import time

import click
from rich.markup import escape

from flame.cli.common import handle_errors
from flame.core.sizes import parse_size
from flame.cli.ui import console
from flame.cli.ui import out as stdout
from flame.core.card import OUTPUTS
from flame.core.errors import ConfigError, param
from flame.export.calibration import DEFAULT_CALIBRATION_FRAMES
from flame.export.formats import EXPORT_FORMATS, FORMATS

_SUFFIXES = ", ".join("/".join(f.suffixes) for f in EXPORT_FORMATS.values())


def say(text: str) -> None:
    """One result line on stdout, never wrapped (it may be parsed or piped)."""
    stdout.print(text, soft_wrap=True, highlight=False)


def human_size(size: int) -> str:
    """Bytes as ``12.3 MB`` (powers of 1000, like ``ls -lh --si``)."""
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("checkpoint", metavar="CHECKPOINT|MODEL.onnx", type=click.Path())
@click.option("-o", "--out", type=click.Path(), default=None,
              help="Artifact path. Default: next to the input (best.pt -> best.onnx, best.fp16.plan, best.pt2; "
                   "seg.onnx -> seg.flame.onnx).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help=f"Artifact kind. Default: from the -o suffix ({_SUFFIXES}), else onnx.")
@click.option("--fp16", is_flag=True, help="FP16 artifact (inputs, outputs and risky ops stay FP32).")
@click.option("--int8", is_flag=True,
              help="INT8 artifact: static quantisation (QDQ), calibrated on data set windows; the graph's ends stay float.")
@click.option("--calibrate", "calibrate", default="synthetic", show_default=True, metavar="DATASET",
              help="INT8 calibration data set: synthetic, cityscapes or folder (its train split calibrates, "
                   "its val split is scored).")
@click.option("--data-root", type=click.Path(), default=None, help="Root of the --calibrate data set.")
@click.option("--calib-frames", type=int, default=DEFAULT_CALIBRATION_FRAMES, show_default=True,
              help="INT8 calibration windows, drawn evenly across the data set's sequences.")
@click.option("--int8-target", default=None, metavar="cpu|tensorrt",
              help="INT8 flavour: cpu (uint8 activations, VNNI) or tensorrt (symmetric). "
                   "Default: tensorrt with --format tensorrt, else cpu.")
@click.option("--size", default=None,
              help="Input size HxW (checkpoints: multiples of 32). Default: the checkpoint card's, or a model's fixed "
                   "size; required for a MODEL.onnx with dynamic spatial axes.")
@click.option("--output", default=None,
              help=f"Checkpoint: what the artifact returns, {' or '.join(OUTPUTS)} (uint8 class ids [H, W], default; "
                   "float logits [C, H, W]). MODEL.onnx: the graph output to read (default its first).")
@click.option("--returns", type=click.Choice(OUTPUTS), default=None,
              help="MODEL.onnx: what the artifact returns (default labels).")
@click.option("--input", "input_name", default=None, help="MODEL.onnx: the graph input that takes the image.")
@click.option("--mean", default=None, help="MODEL.onnx: normalisation mean R,G,B (0-1 or 0-255 scale; default ImageNet).")
@click.option("--std", default=None, help="MODEL.onnx: normalisation std R,G,B (0-1 or 0-255 scale; default ImageNet).")
@click.option("--channels", type=click.Choice(["rgb", "bgr"]), default="rgb", show_default=True,
              help="MODEL.onnx: channel order the model takes (--mean/--std are in that order).")
@click.option("--input-scale", type=click.Choice(["auto", "0-1", "0-255"]), default="auto", show_default=True,
              help="MODEL.onnx: scale of --mean/--std; auto: values above 1 mean 0-255.")
@click.option("--classes", default=None, help="MODEL.onnx: cityscapes, or a file with one class name per line.")
@click.option("--palette", type=click.Path(dir_okay=False), default=None,
              help="MODEL.onnx: a file with one R,G,B colour per class.")
@click.option("--window", type=click.IntRange(min=1), default=1, show_default=True,
              help="MODEL.onnx: frames per input (3T channels, oldest frame first).")
@click.option("--layout", type=click.Choice(["auto", "nchw", "nhwc"]), default="auto", show_default=True,
              help="MODEL.onnx: nchw (PyTorch...) or nhwc (TensorFlow, Keras, TFLite: channels last in and out); "
                   "auto reads NHWC when the input's last axis holds the 3T channels, and says so.")
@click.option("--threshold", type=float, default=None,
              help="MODEL.onnx with one score channel (background and its class): the score above which a pixel is "
                   "its class. Default 0.5 when the output comes from a Sigmoid, else 0 (logits).")
@click.option("--fps", type=float, default=30.0, show_default=True,
              help="MODEL.onnx: frame rate of the model's window (spacing of a multi-frame input).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Run the artifact against the PyTorch wrapper on rendered frames and print the pixel agreement.")
@click.option("--timing-cache", type=click.Path(), default=None,
              help="TensorRT timing cache file, reused and updated across builds.")
@click.option("--workspace-mb", type=click.IntRange(min=1), default=1024, show_default=True,
              help="TensorRT builder workspace limit in MiB.")
@click.option("--force", is_flag=True,
              help="Overwrite the output even when it holds an export made with other options (or something else).")
@handle_errors(flags={"calibration_frames": "--calib-frames", "calibration": "--calibrate"})
def main(checkpoint, out, fmt, fp16, int8, calibrate, data_root, calib_frames, int8_target, size, output, returns,
         input_name, mean, std, channels, input_scale, classes, palette, window, layout, threshold, fps, verify,
         timing_cache, workspace_mb, force):
    """Export CHECKPOINT, or wrap a foreign MODEL.onnx, into the artifact a robot runs, and verify it.

    A checkpoint is checked against PyTorch; a foreign ONNX model against
    itself run by ONNX Runtime on frames preprocessed on the host.

    Exit status: 0 when written (and its parity reaches 99.9%, 99% for FP16, 97% for INT8),
    1 when the parity check falls short (the artifact is kept for inspection),
    2 on bad input, a missing dependency, or an output that already holds an
    export made with other options (--force overwrites it).
    """
    from pathlib import Path

    foreign = Path(checkpoint).suffix.lower() == ".onnx"
    given = click.get_current_context().get_parameter_source
    model_only = [name for name in ("returns", "input_name", "mean", "std", "channels", "input_scale", "classes",
                                    "palette", "window", "layout", "threshold", "fps")
                  if given(name) == click.core.ParameterSource.COMMANDLINE]
    if not foreign and model_only:
        named = ", ".join(param(name) for name in model_only)  # written as their flags by handle_errors
        raise ConfigError(f"{named} apply to a foreign MODEL.onnx; a checkpoint carries its own card")
    if not foreign and output is not None and output not in OUTPUTS:
        raise ConfigError(f"{param('output')} for a checkpoint is {' or '.join(OUTPUTS)}, found {output!r}")

    int8_options = None
    if int8:
        from flame.export.options import Int8Options

        calibration, validation = _int8_data(calibrate, data_root)
        int8_options = Int8Options(int8_target, calibration, calib_frames, validation)
    elif any(given(name) == click.core.ParameterSource.COMMANDLINE
             for name in ("int8_target", "calibrate", "data_root", "calib_frames")):
        raise ConfigError(f"{param('int8_target')}, {param('calibrate')}, {param('data_root')} and "
                          f"{param('calib_frames')} apply to {param('int8')} only")

    # The running step shows on a spinner; each step is printed once it is done, so that a
    # failure leaves only the completed steps and one error line.
    current: list = []

    def finish_step() -> None:
        if current:
            message, started = current.pop()
            console.print(f"[dim]-[/dim] {escape(message)} [dim]({time.perf_counter() - started:.1f} s)[/dim]",
                          soft_wrap=True, markup=True)

    with console.status("flame-export") as status:
        def on_step(message: str) -> None:
            finish_step()
            current.append((message, time.perf_counter()))
            status.update(message)

        from flame.export.options import ExportOptions, TensorRTOptions
        from flame.export.pipeline import export

        options = ExportOptions(out, fmt, fp16, int8_options, TensorRTOptions(timing_cache, workspace_mb),
                                parse_size(size), (returns if foreign else output) or "labels", verify,
                                force=force, on_step=on_step)
        result = export(_source(checkpoint, foreign, mean, std, channels, input_scale, classes, palette, window,
                                fps, input_name, output, layout, threshold), options)
        finish_step()
    card = result.card
    height, width = card.input_size
    say(f"wrote {result.path} ({human_size(result.size_bytes)}; {card.backend} {card.precision}, "
              f"input {card.window}x{height}x{width}x3 uint8 BGR -> {card.output}) in {result.seconds:.1f} s")
    for path in result.extra_files:
        say(f"  also wrote {path}")
    for note in result.notes:
        say(f"  {note}")
    if result.parity is None:
        say("  parity not checked (--no-verify)")
        return
    say(f"  {result.parity.summary()}")
    if not result.parity.passed:
        click.echo(f"warning: {result.path.name} agrees with {result.parity.reference} on only {100 * result.parity.agreement:.3f}% "
                   f"of pixels (expected >= {100 * result.parity.threshold:g}%); the file is kept for inspection",
                   err=True)
        sys.exit(1)


def _source(path, foreign, mean, std, channels, input_scale, classes, palette, window, fps, input_name, output,
            layout, threshold):
    """The model source: a foreign ONNX with how to read it, or a checkpoint."""
    if foreign:
        from flame.export.foreign import ForeignSource, ForeignSpec

        return ForeignSource(path, ForeignSpec(mean, std, channels, input_scale, classes, palette, window, fps,
                                               input_name, output, layout, threshold))
    from flame.export.exporter import CheckpointSource

    return CheckpointSource(path)


def _int8_data(kind: str, root: str | None):
    """The calibration (train) and validation (val) splits of the ``--calibrate`` data set."""
    from flame.evaluation.datasets import open_dataset

    return open_dataset(kind, root, "train"), open_dataset(kind, root, "val").require_nonempty()


if __name__ == "__main__":
    main()
