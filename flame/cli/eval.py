"""``flame-eval``: static mIoU, FLAME and streaming FLAME of an engine, a checkpoint or predictions (or on footage)."""

from __future__ import annotations

import click

from flame.core.fit import FITS

from flame.cli.common import handle_errors
from flame.cli.ui import TerminalEvents, out, per_class_table, say_written, summary_table
from flame.core.latency import STATS as LATENCY_STATS
from flame.runtime.forecast import FORECASTERS
from flame.evaluation.datasets import DATASET_KINDS
from flame.runtime.engines import ENGINE_KINDS, describe_kinds


def _threaded() -> str:
    """The backends that take a thread count, from the engine registry."""
    return ", ".join(kind.runner for kind in ENGINE_KINDS.values() if "threads" in kind.tuning)



@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--engine", "engine_path", type=click.Path(), default=None,
              help=f"Engine to score: {describe_kinds()}.")
@click.option("--card", "card_path", type=click.Path(dir_okay=False), default=None,
              help="Model card JSON for an engine that carries none (a trtexec plan, a lost sidecar); see docs/formats.md.")
@click.option("--checkpoint", type=click.Path(), default=None, help="flame-train checkpoint (the PyTorch reference).")
@click.option("--predictions", type=click.Path(), default=None,
              help="Folder of prediction PNGs: DIR/<sequence>/<frame stem>.png (Cityscapes: <city>_<seq>_<frame>*.png anywhere).")
@click.option("--video", type=click.Path(), default=None,
              help="Your own footage: a video file (times: its presentation timestamps); needs --reference.")
@click.option("--frames", "frames_dir", type=click.Path(), default=None,
              help="Your own footage: a folder of images in name order, at --fps (default 30); needs --reference.")
@click.option("--bag", type=click.Path(), default=None,
              help="Your own footage: a ROS 2 bag (folder, .db3 or .mcap; times: header stamps); needs --reference.")
@click.option("--topic", default=None, help="The bag's image topic (default: its only one).")
@click.option("--reference", default=None,
              help="What labels your footage: a teacher engine file, or 'self' (the engine's own zero-latency output).")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the cached reference labels (default: flame-reference/ beside --json, else here).")
@click.option("--dataset", type=click.Choice(DATASET_KINDS), default="synthetic", show_default=True)
@click.option("--data-root", type=click.Path(), default=None, help="Data set folder (cityscapes, folder; optional for synthetic).")
@click.option("--split", default="val", show_default=True)
@click.option("--label-ids", is_flag=True, help="Predictions are Cityscapes labelIds, not train ids.")
@click.option("--latency", "latency_ms", type=float, default=None,
              help="Fixed latency in ms instead of measuring (predictions default to 0 = static).")
@click.option("--latency-from", type=click.Path(), default=None, help="Take per-frame latencies from a flame-run report.")
@click.option("--force", is_flag=True,
              help="Use a --latency-from report measured on another model, or a --reference of another input size.")
@click.option("--latency-stat", type=click.Choice(LATENCY_STATS), default="p50", show_default=True,
              help="Which statistic of the latency samples gives k.")
@click.option("--extra-latency-ms", type=float, default=0.0, show_default=True, help="Camera and transport delay to add.")
@click.option("--fps", type=float, default=None,
              help="Override the data set's frame rate (for --frames: their rate; for --video/--bag: use i/fps "
                   "instead of the recorded times).")
@click.option("--forecast", type=click.Choice(list(FORECASTERS)), default="none", show_default=True,
              help="Forecast each output to the frame it is scored at (dense: every pixel by its own optical flow, "
                   "for a moving camera; flow: rigid objects over one background motion, for a still camera); its "
                   "cost, measured here, is added to the latency.")
@click.option("--fit", type=click.Choice(FITS), default="stretch", show_default=True,
              help="How frames of another aspect ratio than the engine's input meet it: stretch, crop (the centred "
                   "part) or pad (letterbox); labels are mapped back to the frame exactly.")
@click.option("--streaming/--no-streaming", default=True, show_default=True, help="Also score streaming FLAME.")
@click.option("--max-sequences", type=int, default=None, help="Score only the first N sequences (a quick look).")
@click.option("--latency-samples", type=int, default=50, show_default=True, help="Frames timed when measuring latency.")
@click.option("--warmup", type=int, default=5, show_default=True, help="Engine calls before timing.")
@click.option("--device", default=None, help="cpu or cuda (engine default when omitted).")
@click.option("--threads", type=int, default=0,
              help=f"Backend threads, for {_threaded()} (0 = its default).")
@click.option("--json", "json_out", type=click.Path(), default=None, help="Write the report as JSON.")
@click.option("--plot", "plot_out", type=click.Path(), default=None,
              help="Write a PNG: FLAME vs latency with the operating point, and per-class IoU.")
@handle_errors(flags={"extra_ms": "--extra-latency-ms", "stat": "--latency-stat"})
def main(**options):
    """Score segmentation with FLAME: accuracy against the frame that is current when the output is ready.

    Give exactly one of --engine, --checkpoint or --predictions. For engines and
    checkpoints the latency is measured here on the data set's frames unless
    --latency or --latency-from says otherwise.
    """
    from flame.apps.evaluate import EvalRequest, evaluate

    request = EvalRequest(**options)
    report = evaluate(request, TerminalEvents())
    out.print(summary_table(report))
    out.print(per_class_table(report))
    say_written((request.json_out, "report"), (request.plot_out, "plot"))


if __name__ == "__main__":
    main()
