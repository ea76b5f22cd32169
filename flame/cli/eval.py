"""``flame-eval``: static mIoU, FLAME and streaming FLAME."""

from __future__ import annotations

import click

from flame.cli.common import handle_errors
from flame.cli.ui import out, per_class_table, progress_bar, summary_table
from flame.files import write_json


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--predictions", "predictions", type=click.Path(), required=True,
              help="Folder of prediction PNGs: DIR/<sequence>/<frame stem>.png (Cityscapes: <city>_<seq>_<frame>*.png anywhere).")
@click.option("--dataset", type=click.Choice(["synthetic", "cityscapes", "folder"]), default="synthetic", show_default=True)
@click.option("--data-root", type=click.Path(), default=None, help="Data set folder (cityscapes, folder; optional for synthetic).")
@click.option("--split", default="val", show_default=True)
@click.option("--label-ids", is_flag=True, help="Predictions are Cityscapes labelIds, not train ids.")
@click.option("--latency", "latency_ms", type=float, default=0.0, show_default=True, help="Fixed latency in ms (0 = static).")
@click.option("--fps", type=float, default=None, help="Override the data set's frame rate.")
@click.option("--streaming/--no-streaming", default=True, show_default=True, help="Also score streaming FLAME.")
@click.option("--max-sequences", type=int, default=None, help="Score only the first N sequences.")
@click.option("--json", "json_out", type=click.Path(), default=None, help="Write the report as JSON.")
@handle_errors
def main(predictions, dataset, data_root, split, label_ids, latency_ms, fps, streaming, max_sequences, json_out):
    """Score segmentation predictions with FLAME (latency-aware mIoU)."""
    from flame.evaluation.datasets import open_dataset
    from flame.evaluation.offsets import check_fps, frame_offset
    from flame.evaluation.predictions import evaluate_predictions

    if fps is not None:
        check_fps(fps)
    frame_offset(latency_ms / 1000.0, fps or 1.0)  # validates the latency before any data is read
    data = open_dataset(dataset, data_root, split, fps).head(max_sequences)
    with progress_bar("scoring") as progress:
        report = evaluate_predictions(data, predictions, latency_ms, streaming, label_ids, progress)
    out.print(summary_table(report))
    out.print(per_class_table(report))
    if json_out:
        write_json(json_out, report)
        out.print(f"report written to {json_out}")
