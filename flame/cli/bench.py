"""``flame-bench``: one checkpoint in every deployment format, timed and scored with FLAME."""

from __future__ import annotations

import click

from flame.core.sizes import format_size
from flame.apps.bench_rows import FORMATS as BENCH_FORMATS
from flame.cli.common import handle_errors
from flame.cli.ui import TerminalEvents, fmt, out, say_written, table
from flame.evaluation.datasets import DATASET_KINDS
from flame.runtime.forecast import FORECASTERS


def bench_table(rows: list, dataset: str, latency_scale: float = 1.0) -> object:
    """One row per (format, size), as deployment tools print them; the best row marked."""
    body = []
    for row in rows:
        size = "-" if row.size is None else format_size(row.size)
        name = row.format if row.forecast == "none" else f"{row.format} + {row.forecast} ({fmt(row.forecast_ms, 1)} ms)"
        body.append(["*" if row.best else "", name, size, row.status, fmt(row.size_mb, 1),
                     fmt(row.latency_p50_ms, 1), fmt(row.latency_p99_ms, 1), row.k, fmt(row.miou), fmt(row.flame),
                     fmt(row.streaming_flame), "-" if row.agreement is None else f"{100 * row.agreement:.2f}%"])
    columns = ["best", "format", "input", "status", "MB", "p50 ms", "p99 ms", "k", "mIoU", "FLAME", "streaming",
               "agree"]
    title = f"Deployment choices on {dataset} (FLAME at each row's own k; * = highest FLAME, the one to deploy)"
    if latency_scale != 1.0:
        title += f"; latencies scaled x {latency_scale:g} (what-if)"
    return table(title, columns, body)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("checkpoint", metavar="CHECKPOINT|ENGINE", type=click.Path())
@click.option("--formats", default=None,
              help=f"Comma-separated: {', '.join(BENCH_FORMATS)} (default all).")
@click.option("--sizes", default=None, metavar="HxW,...",
              help="Input sizes, multiples of 32: every format at every size. Default: the checkpoint card's.")
@click.option("--latency-scale", type=float, default=1.0, show_default=True,
              help="What-if: multiply every measured latency by this (0.5 = a device twice as fast).")
@click.option("--plot", "plot_out", type=click.Path(), default=None,
              help="PNG of FLAME against latency p50, one point per row, the best marked, the Pareto front drawn.")
@click.option("--dataset", type=click.Choice(DATASET_KINDS), default="synthetic", show_default=True)
@click.option("--data-root", type=click.Path(), default=None)
@click.option("--split", default="val", show_default=True)
@click.option("--fps", type=float, default=None, help="Override the data set's frame rate.")
@click.option("--max-sequences", type=int, default=None, help="Score only the first N sequences.")
@click.option("--latency-samples", type=int, default=50, show_default=True)
@click.option("--warmup", type=int, default=5, show_default=True)
@click.option("--device", default=None, help="cpu or cuda for the engines.")
@click.option("--streaming/--no-streaming", default=True, show_default=True)
@click.option("--out-dir", type=click.Path(), default=None, help="Where the artifacts go (default <checkpoint>.bench/).")
@click.option("--card", "card_path", type=click.Path(dir_okay=False), default=None,
              help="Model card JSON for an engine file that carries none (a trtexec plan, a lost sidecar).")
@click.option("--json", "json_out", type=click.Path(), default=None, help="Write the rows as JSON.")
@click.option("--forecast", "forecasts", default="none", show_default=True,
              help=f"Comma-separated forecast methods ({', '.join(FORECASTERS)}): one row per method for each "
                   "format and size, the forecast's cost charged to the latency.")
@handle_errors
def main(**options):
    """Export CHECKPOINT to each format available here, at each size; one row per (format, size) with latency,
    mIoU, FLAME and agreement, the highest FLAME marked as the one to deploy.

    INT8 formats calibrate on the train split of the same data set. Given an ENGINE file (.onnx,
    .plan/.engine, .pt2) instead, time and score that engine alone: one row.
    """
    from flame.apps.bench_request import BenchRequest, run_bench

    request = BenchRequest(**options)
    report = run_bench(request, TerminalEvents())
    out.print(bench_table(report.rows, report.dataset, report.latency_scale))
    for row in report.rows:
        if row.why:
            out.print(f"{row.format}: {row.status}: {row.why}")
    say_written((request.json_out, "rows"), (request.plot_out, "plot"))


if __name__ == "__main__":
    main()
