"""``flame-bench`` as a library call: a :class:`BenchRequest` in, a :class:`~flame.apps.bench_rows.BenchReport` out.

The command parses its options into a :class:`BenchRequest` (one field per
option, same names), calls :func:`run_bench` and prints the rows; whether a
checkpoint is swept or an engine file timed alone, the data sets (the INT8
calibration split too) and the files asked for (JSON, plot) are decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flame.apps.bench_rows import BenchReport
from flame.apps.events import Events
from flame.core.errors import ConfigError


@dataclass
class BenchRequest:
    """Everything ``flame-bench`` is asked; each field is the command option of the same name.

    Attributes:
        checkpoint: a checkpoint to sweep, or an engine file to time and score alone.
        formats, sizes: the sweep (comma-separated names, ``HxW,...``; checkpoints only).
        latency_scale: what-if factor on every measured latency.
        plot_out, json_out: files to write.
        dataset, data_root, split, fps, max_sequences: the data set.
        latency_samples, warmup, device, streaming: timing and scoring.
        out_dir: where a sweep's artifacts go.
        card_path: a card JSON for an engine file that carries none.
        forecasts: comma-separated forecast methods, one row each.
    """

    checkpoint: str
    formats: str | None = None
    sizes: str | None = None
    latency_scale: float = 1.0
    plot_out: str | None = None
    dataset: str = "synthetic"
    data_root: str | None = None
    split: str = "val"
    fps: float | None = None
    max_sequences: int | None = None
    latency_samples: int = 50
    warmup: int = 5
    device: str | None = None
    streaming: bool = True
    out_dir: str | None = None
    card_path: str | None = None
    json_out: str | None = None
    forecasts: str = "none"

    @property
    def is_engine(self) -> bool:
        """An engine file (by its suffix), benchmarked as it is, rather than a checkpoint to export."""
        from flame.runtime.engines import SUFFIXES

        return Path(self.checkpoint).suffix.lower() in SUFFIXES


def run_bench(request: BenchRequest, events: Events | None = None) -> BenchReport:
    """Sweep a checkpoint's formats and sizes, or time and score one engine file; write the files asked for.

    Raises:
        ConfigError: on options that do not apply to what was given, or bad names and sizes.
        CheckpointError, EngineError, DataError: on a bad checkpoint, engine or data set.
    """
    from flame.apps.bench import bench, bench_engine
    from flame.apps.bench_rows import FORMATS, check_latency_scale, parse_forecasts, parse_formats, parse_sizes
    from flame.evaluation.datasets import open_dataset

    events = events or Events()
    path = request.checkpoint
    if request.is_engine and (request.formats or request.out_dir or request.sizes):
        given = "--formats" if request.formats else "--out-dir" if request.out_dir else "--sizes"
        raise ConfigError(f"{given} applies to a checkpoint; {Path(path).name} is an engine file, benchmarked as "
                          "it is")
    if request.card_path and not request.is_engine:
        raise ConfigError("--card applies to an engine file, not to a checkpoint (it carries its card)")
    check_latency_scale(request.latency_scale)
    methods = parse_forecasts(request.forecasts)
    if request.is_engine:
        if not Path(path).is_file():
            raise ConfigError(f"engine file {path} does not exist")
    else:
        from flame.trainer.checkpoint import read_checkpoint

        names = parse_formats(request.formats)
        input_sizes = parse_sizes(request.sizes)
        read_checkpoint(path)  # a bad checkpoint fails before any data is read
    data = open_dataset(request.dataset, request.data_root, request.split, request.fps)
    data = data.head(request.max_sequences).require_nonempty()
    if request.is_engine:
        rows = bench_engine(path, data, request.latency_samples, request.warmup, request.device, request.streaming,
                            request.card_path, events, request.latency_scale, methods)
    else:
        calibration = None
        if any(FORMATS[name][1] == "int8" for name in names):
            calibration = open_dataset(request.dataset, request.data_root, "train", request.fps)
        rows = bench(path, data, names, request.out_dir, request.latency_samples, request.warmup, request.device,
                     request.streaming, events, input_sizes, request.latency_scale, calibration, methods)
    report = BenchReport(str(path), request.is_engine, data.name, data.fps, request.latency_scale, rows)
    if request.json_out:
        report.write(request.json_out)
    if request.plot_out:
        from flame.apps.plots import plot_choices

        plot_choices(rows, data.fps, request.plot_out, f"FLAME against latency on {data.name}"
                     + (f" (latencies x {request.latency_scale:g})" if request.latency_scale != 1.0 else ""))
    return report
