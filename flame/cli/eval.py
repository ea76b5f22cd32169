"""``flame-eval``: static mIoU, FLAME and streaming FLAME of an engine, a checkpoint or predictions."""

from __future__ import annotations

import click

from flame.core.fit import FITS, aspect_notice
from flame.cli.common import handle_errors
from flame.cli.ui import console, out, per_class_table, progress_bar, summary_table
from flame.core.errors import ConfigError
from flame.core.files import write_json
from flame.core.latency import STATS as LATENCY_STATS
from flame.runtime.forecast import FORECASTERS
from flame.evaluation.datasets import DATASET_KINDS
from flame.runtime.engines import describe_kinds



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
              help="Forecast each output to the frame it is scored at (flow: optical flow, constant velocity); "
                   "its cost, measured here, is added to the latency.")
@click.option("--fit", type=click.Choice(FITS), default="stretch", show_default=True,
              help="How frames of another aspect ratio than the engine's input meet it: stretch (resize whole, the "
                   "default), crop (the centred part of the input's ratio; the rest scored as missed) or pad "
                   "(letterbox). A stretch of more than 5% says so.")
@click.option("--streaming/--no-streaming", default=True, show_default=True, help="Also score streaming FLAME.")
@click.option("--max-sequences", type=int, default=None, help="Score only the first N sequences (a quick look).")
@click.option("--latency-samples", type=int, default=50, show_default=True, help="Frames timed when measuring latency.")
@click.option("--warmup", type=int, default=5, show_default=True, help="Engine calls before timing.")
@click.option("--device", default=None, help="cpu or cuda (engine default when omitted).")
@click.option("--threads", type=int, default=0, help="ONNX Runtime intra-op threads (0 = its default).")
@click.option("--json", "json_out", type=click.Path(), default=None, help="Write the report as JSON.")
@click.option("--plot", "plot_out", type=click.Path(), default=None,
              help="Write a PNG: FLAME vs latency with the operating point, and per-class IoU.")
@handle_errors(flags={"extra_ms": "--extra-latency-ms", "stat": "--latency-stat"})
def main(engine_path, card_path, checkpoint, predictions, video, frames_dir, bag, topic, reference, cache_dir, dataset,
         data_root, split, label_ids, latency_ms, latency_from, force, latency_stat, extra_latency_ms, fps, forecast,
         fit, streaming, max_sequences, latency_samples, warmup, device, threads, json_out, plot_out):
    """Score segmentation with FLAME: accuracy against the frame that is current when the output is ready.

    Give exactly one of --engine, --checkpoint or --predictions. For engines and
    checkpoints the latency is measured here on the data set's frames unless
    --latency or --latency-from says otherwise.
    """
    from flame.core.offsets import check_fps
    from flame.evaluation.datasets import open_dataset
    from flame.evaluation.scoring import fixed_latency

    chosen = [name for name, value in (("--engine", engine_path), ("--checkpoint", checkpoint),
                                       ("--predictions", predictions)) if value]
    if len(chosen) != 1:
        raise ConfigError("give exactly one of --engine, --checkpoint or --predictions"
                          + (f" (found {', '.join(chosen)})" if chosen else ""))
    if fps is not None:
        check_fps(fps)
    if latency_ms is not None:
        fixed_latency(latency_ms, extra_latency_ms)  # refuse a bad value before loading anything
    if label_ids and not predictions:
        raise ConfigError("--label-ids applies to --predictions only")
    if card_path and not engine_path:
        raise ConfigError("--card applies to --engine only")
    footage_given = any((video, frames_dir, bag))
    if fit != "stretch" and (predictions or footage_given):
        raise ConfigError("--fit applies to --engine and --checkpoint on a data set")
    if reference and not footage_given:
        raise ConfigError("--reference applies to your own footage: give --video, --frames or --bag with it")
    if footage_given:
        if not engine_path or not reference:
            raise ConfigError("scoring your own footage needs --engine and --reference (a teacher engine or 'self')")
        if data_root or max_sequences is not None:
            raise ConfigError("--data-root and --max-sequences apply to data sets, not to --video/--frames/--bag")
        report = _score_footage(engine_path, card_path, video, frames_dir, bag, topic, fps, reference, cache_dir,
                                json_out, device, threads, force, streaming, forecast,
                                dict(latency_ms=latency_ms, latency_from=latency_from, stat=latency_stat,
                                     extra_ms=extra_latency_ms, samples=latency_samples, warmup=warmup))
        _show(report, json_out, plot_out)
        return
    if checkpoint:
        from flame.core.deps import require_extra

        require_extra("torch")  # before the data set is read
    data = open_dataset(dataset, data_root, split, fps).head(max_sequences).require_nonempty()

    if predictions:
        report = _score_predictions(data, predictions, latency_ms, latency_from, latency_stat, extra_latency_ms,
                                    streaming, label_ids, forecast)
    else:
        report = _score_engine(data, engine_path, card_path, checkpoint, device, threads, latency_ms, latency_from,
                               latency_stat, extra_latency_ms, latency_samples, warmup, streaming, bool(plot_out), force,
                               forecast, fit)
    _show(report, json_out, plot_out)


def _show(report: dict, json_out: str | None, plot_out: str | None) -> None:
    out.print(summary_table(report))
    out.print(per_class_table(report))
    if json_out:
        write_json(json_out, report)
        out.print(f"report written to {json_out}")
    if plot_out:
        from flame.apps.plots import plot_report

        plot_report(report, plot_out, title=_title(report))
        out.print(f"plot written to {plot_out}")


def _score_footage(engine_path, card_path, video, frames_dir, bag, topic, fps, reference, cache_dir, json_out, device,
                   threads, force, streaming, forecast, latency_options):
    from pathlib import Path

    from flame.apps.footage_eval import FootageRequest, default_cache_root, evaluate_footage
    from flame.media import open_footage

    footage = open_footage(video=video, frames=frames_dir, bag=bag, topic=topic, fps=fps)
    request = FootageRequest(engine_path, reference, Path(cache_dir) if cache_dir else default_cache_root(json_out),
                             card_path, device, _engine_options(engine_path, threads), force)
    return evaluate_footage(request, footage, latency_options, streaming, forecast, progress_bar, console.print)


def _engine_options(engine_path, threads) -> dict:
    from flame.runtime.engines import engine_kind

    kind = engine_kind(engine_path)
    # Only ONNX Runtime takes a thread count.
    return {"threads": threads} if threads and kind is not None and kind.name == "onnx" else {}


def _title(report: dict) -> str:
    engine = report.get("engine") or {}
    what = engine.get("path") or report.get("predictions") or ""
    return f"{what} on {report.get('dataset', '')}"


def _score_predictions(data, predictions, latency_ms, latency_from, stat, extra_ms, streaming, label_ids, forecast):
    from flame.apps.assess import choose_latency
    from flame.apps.forecast import forecast_predictions

    if latency_ms is None and latency_from is None:
        latency_ms = 0.0  # no engine to measure: predictions are scored static unless told a latency
    latency = choose_latency(None, data, latency_ms, latency_from, stat, extra_ms)
    with progress_bar("scoring") as progress:
        return forecast_predictions(data, predictions, latency, forecast, streaming, label_ids, progress)


def _score_engine(data, engine_path, card_path, checkpoint, device, threads, latency_ms, latency_from, stat, extra_ms,
                  samples, warmup, streaming, curve, force=False, forecast="none", fit="stretch"):
    from flame.apps.assess import choose_latency, evaluate_engine
    from flame.runtime.engines import load_engine

    if checkpoint:
        from flame.trainer.reference import load_reference

        engine = load_reference(checkpoint, device)
    else:
        engine = load_engine(engine_path, device=device, card=card_path, **_engine_options(engine_path, threads))
    with engine:
        notice = aspect_notice(data.sequences[0].window(0, 1, 1).shape[1:3], engine.card.input_size, fit)
        if notice:
            console.print(f"notice: {notice}")
        if latency_ms is None and latency_from is None:
            console.print(f"measuring latency: {warmup} warm-up calls, then {samples} frames of {data.name}")
        latency = choose_latency(engine, data, latency_ms, latency_from, stat, extra_ms, samples, warmup, force)
        with progress_bar("scoring") as progress:
            return evaluate_engine(engine, data, latency, streaming, curve, progress, forecast, fit)


if __name__ == "__main__":
    main()
