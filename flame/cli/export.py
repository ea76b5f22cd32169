"""``flame-export``: a checkpoint to ONNX (FP32/FP16), a TensorRT plan or a torch.export program."""

from __future__ import annotations

import sys
import time

import click
from rich.markup import escape

from flame.cli.common import handle_errors, parse_size
from flame.cli.ui import console
from flame.cli.ui import out as stdout
from flame.core.card import OUTPUTS
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
@click.argument("checkpoint", type=click.Path())
@click.option("-o", "--out", type=click.Path(), default=None,
              help="Artifact path. Default: next to the checkpoint (best.pt -> best.onnx, best.fp16.plan, best.pt2).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help=f"Artifact kind. Default: from the -o suffix ({_SUFFIXES}), else onnx.")
@click.option("--fp16", is_flag=True, help="FP16 artifact (inputs, outputs and risky ops stay FP32).")
@click.option("--size", default=None, help="Input size HxW, multiples of 32. Default: the checkpoint card's.")
@click.option("--output", type=click.Choice(OUTPUTS), default="labels", show_default=True,
              help="What the artifact returns: uint8 class ids [H, W] or float logits [C, H, W].")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Run the artifact against the PyTorch wrapper on rendered frames and print the pixel agreement.")
@click.option("--timing-cache", type=click.Path(), default=None,
              help="TensorRT timing cache file, reused and updated across builds.")
@click.option("--workspace-mb", type=click.IntRange(min=1), default=1024, show_default=True,
              help="TensorRT builder workspace limit in MiB.")
@handle_errors
def main(checkpoint, out, fmt, fp16, size, output, verify, timing_cache, workspace_mb):
    """Export CHECKPOINT to the artifact a robot runs, and check it against PyTorch.

    Exit status: 0 when written (and its parity reaches 99.9%, or 99% for FP16),
    1 when the parity check falls short (the artifact is kept for inspection),
    2 on bad input or a missing dependency.
    """
    from flame.export.exporter import export_checkpoint

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

        result = export_checkpoint(checkpoint, out, fmt, fp16=fp16, size=parse_size(size), output=output,
                                   verify=verify, timing_cache=timing_cache, workspace_mb=workspace_mb,
                                   on_step=on_step)
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
        click.echo(f"warning: {result.path.name} agrees with PyTorch on only {100 * result.parity.agreement:.3f}% "
                   f"of pixels (expected >= {100 * result.parity.threshold:g}%); the file is kept for inspection",
                   err=True)
        sys.exit(1)
