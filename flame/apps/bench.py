"""``flame-bench``: what each deployment format buys in FLAME, not just in milliseconds.

For one checkpoint, every format available here is exported at every input
size asked for, loaded, timed through flame-run's loop on the data set's
frames (resized to the engine's input), and scored at its own k (labels back
at the data set's size): one row per (format, size) with status, file size,
latency p50/p99, static mIoU, FLAME and pixel agreement with the PyTorch
reference at that size. The row with the highest FLAME is the one to deploy.
For an engine file on its own (:func:`bench_engine`), one row with the same
figures but agreement. With several forecast methods (``none,flow``) each of
those rows becomes one per method: the same engine and latency samples, the
forecast's cost (timed once) charged on top. The rows, the format names and
the option parsing are :mod:`flame.apps.bench_rows`.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from flame.core.sizes import format_size
from flame.apps.bench_rows import DEFAULT_FORMATS, FORMATS, BenchRow, check_latency_scale, mark_best
from flame.apps.events import Events
from flame.core.errors import ConfigError, DependencyError, EngineError
from flame.evaluation.datasets import SequenceDataset
from flame.evaluation.datasets.sampling import spread_windows

__all__ = ["bench", "bench_engine", "engine_format", "scaled"]

AGREEMENT_WINDOWS = 8


def agreement_windows(dataset: SequenceDataset, window: int, size: tuple[int, int],
                      count: int = AGREEMENT_WINDOWS) -> list[np.ndarray]:
    """Real input windows from the data set, evenly spread, resized to the engine input."""
    windows = spread_windows(dataset, window, size, count)
    if not windows:
        raise ConfigError(f"no sequence of {dataset.name} is long enough for a window of {window}")
    return windows


def scaled(latency: Any, scale: float) -> Any:
    """The same latency with every measured sample multiplied by ``scale`` (:meth:`Latency.scaled`)."""
    return latency.scaled(scale)


def bench(checkpoint: str | os.PathLike, dataset: SequenceDataset, formats: list[str] | None = None,
          out_dir: str | os.PathLike | None = None, samples: int = 50, warmup: int = 5, device: str | None = None,
          streaming: bool = True, events: Events | None = None, sizes: list[tuple[int, int]] | None = None,
          latency_scale: float = 1.0, calibration: SequenceDataset | None = None,
          forecasts: list[str] | None = None) -> list[BenchRow]:
    """Export, time and score one checkpoint in every format asked for, at every size asked for.

    Args:
        checkpoint: a ``flame-train`` checkpoint.
        dataset: the data set to time and score on.
        formats: names from :data:`FORMATS` (default all).
        sizes: input sizes ``(H, W)`` (default the card's); one row per (format, size), format-major.
        latency_scale: every measured latency sample multiplied by this (what-if: a device X times as slow).
        calibration: the INT8 formats' calibration set (default the synthetic video's train split).
        out_dir: where the artifacts go (default ``<checkpoint stem>.bench/`` beside it).
        samples, warmup: latency measurement per format.
        device: ``cpu``/``cuda`` for the engines (backend default when None).
        streaming: also score streaming FLAME.
        events: progress receiver.
        forecasts: forecast methods (:data:`flame.runtime.forecast.FORECASTERS`), one row each per
            (format, size) (default ``none`` only).

    Returns:
        One :class:`BenchRow` per (format, size, forecast), in the order asked, the best marked.

    Raises:
        CheckpointError: when the checkpoint cannot be read.
        ConfigError, DataError: on bad options or a data set that does not fit the model.
    """
    from flame.apps.assess import check_compatible
    from flame.apps.forecast import forecasting
    from flame.trainer.reference import load_reference

    events = events or Events()
    formats = formats or list(DEFAULT_FORMATS)
    latency_scale = check_latency_scale(latency_scale)
    checkpoint = Path(checkpoint)
    out_dir = Path(out_dir) if out_dir else checkpoint.with_name(checkpoint.stem + ".bench")
    out_dir.mkdir(parents=True, exist_ok=True)

    with load_reference(checkpoint, "cpu") as probe:
        card = probe.card
    check_compatible(card, dataset)
    plans = [forecasting(method, card.class_names, dataset) for method in dict.fromkeys(forecasts or ["none"])]
    height, width = card.input_size
    sizes = sizes or [(int(height), int(width))]
    several = len(sizes) > 1
    rows = []
    references: dict[tuple[int, int], tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for name in formats:
        for size in sizes:
            events.stage(f"{name} at {format_size(size)}" if several else name)
            rows.extend(_bench_one(checkpoint, dataset, name, (size[0], size[1]), out_dir, samples, warmup, device,
                                   streaming, events, latency_scale, calibration, several, references,
                                   card.window, plans))
    mark_best(rows)
    return rows


def _calibration_frames(calibration: SequenceDataset | None, window: int) -> int:
    """The INT8 calibration window count: the exporter's default, or every window of a smaller set."""
    from flame.export.calibration import DEFAULT_CALIBRATION_FRAMES

    if calibration is None:
        return DEFAULT_CALIBRATION_FRAMES
    available = sum(max(0, seq.num_frames - window + 1) for seq in calibration.sequences)
    return max(1, min(DEFAULT_CALIBRATION_FRAMES, available))


def _reference_outputs(checkpoint: Path, dataset: SequenceDataset, size: tuple[int, int], window: int,
                       cache: dict) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The agreement windows at ``size`` and the PyTorch reference's labels on them (once per size)."""
    from flame.trainer.reference import load_reference

    if size not in cache:
        windows = agreement_windows(dataset, window, size)
        with load_reference(checkpoint, "cpu", input_size=size) as reference:
            cache[size] = (windows, [np.asarray(reference(w)) for w in windows])
    return cache[size]


def _bench_one(checkpoint: Path, dataset: SequenceDataset, name: str, size: tuple[int, int], out_dir: Path,
               samples: int, warmup: int, device: str | None, streaming: bool, events: Events,
               latency_scale: float, calibration: SequenceDataset | None, tag_size: bool,
               references: dict, window: int, plans: list[Any]) -> list[BenchRow]:
    """One row per forecast plan: export (or load) the format at ``size``, time it, score it."""
    from flame.export.exporter import default_output, export_checkpoint
    from flame.export.parity import compare
    from flame.runtime.engines import load_engine
    from flame.trainer.reference import load_reference

    fmt, precision = FORMATS[name]
    row = BenchRow(name, "ok", size=size)
    try:
        if fmt is None:
            engine = load_reference(checkpoint, device, input_size=size)
            row.path = str(checkpoint)
        else:
            path = out_dir / default_output(checkpoint, fmt, precision == "fp16", precision == "int8").name
            if tag_size:  # best.int8.onnx at several sizes: best.256x512.int8.onnx, best.512x1024.int8.onnx
                path = path.with_name(f"{checkpoint.stem}.{format_size(size)}{path.name[len(checkpoint.stem):]}")
            result = export_checkpoint(checkpoint, path, fmt, fp16=precision == "fp16", size=size, verify=False,
                                       int8=precision == "int8", calibration=calibration,
                                       calibration_frames=_calibration_frames(calibration, window))
            row.path = str(result.path)
            row.size_mb = result.size_bytes / 2**20
            engine = load_engine(result.path, device=device)
    except (DependencyError, EngineError, ConfigError) as exc:
        row.status, row.why = ("export only" if row.path and fmt else "unavailable"), str(exc)
        return [row]
    if row.size_mb is None:
        row.size_mb = Path(row.path).stat().st_size / 2**20
    try:
        with engine:
            windows, expected = _reference_outputs(checkpoint, dataset, size, engine.card.window, references)
            more = _score(row, engine, dataset, samples, warmup, streaming, events, latency_scale, plans)
            row.agreement = compare(expected, [engine(w) for w in windows], "labels")[0]
            for other in more:
                other.agreement = row.agreement
    except (DependencyError, EngineError) as exc:
        row.status, row.why = "export only", str(exc)
        more = []
    return [row, *more]


def _score(row: BenchRow, engine: Any, dataset: SequenceDataset, samples: int, warmup: int, streaming: bool,
           events: Events, latency_scale: float = 1.0, plans: list[Any] | None = None) -> list[BenchRow]:
    """Time ``engine`` through flame-run's loop once and score it at its own (scaled) latency's k, into ``row``.

    ``row`` gets the first forecast plan's scores (default: none); each further
    plan (the same engine and latency samples, its own forecast cost charged)
    gets a copy of ``row``, returned in order.
    """
    from flame.apps.assess import assess, measure_latency
    from flame.apps.forecast import Forecasting

    measured = measure_latency(engine, dataset, samples, warmup)
    latency = scaled(measured, latency_scale)
    summary = latency.summary
    row.latency_p50_ms, row.latency_p99_ms = summary["p50"], summary["p99"]
    more = []
    for n, plan in enumerate(plans or [Forecasting("none")]):
        target = row if n == 0 else BenchRow(**{**asdict(row), "forecast": plan.method})
        with events.progress() as progress:
            report = assess(engine, engine.card, dataset, latency, streaming, None, progress, forecast=plan)
        target.k, target.miou, target.flame = report.k, report.miou, report.flame
        target.streaming_flame = report.streaming_flame
        target.forecast, target.forecast_ms = plan.method, report.latency_ms["forecast_ms"]
        target.extra = {"engine": engine.describe(), "latency_ms": report.latency_ms,
                        "latency_scale": latency_scale, "measured_latency_ms": measured.report(),
                        "measured_k": measured.k(dataset.fps)}
        if n:
            more.append(target)
    return more


def engine_format(engine: Any) -> str:
    """The bench format name of a loaded engine: ``onnx``, ``onnx-fp16``, ``tensorrt-fp16``, ``pt2``..."""
    from flame.runtime.engines import engine_kind

    kind = engine_kind(engine.path)
    # By the file's kind: every backend's own name differs from the bench's (the .pt2 one says "torch",
    # which is the bench's eager-checkpoint row).
    base = "pt2" if kind is None or kind.name == "torch" else kind.name
    return base + ("" if engine.card.precision == "fp32" else f"-{engine.card.precision}")


def bench_engine(path: str | os.PathLike, dataset: SequenceDataset, samples: int = 50, warmup: int = 5,
                 device: str | None = None, streaming: bool = True, card: str | os.PathLike | None = None,
                 events: Events | None = None, latency_scale: float = 1.0,
                 forecasts: list[str] | None = None) -> list[BenchRow]:
    """One row for an engine file on its own, like trtexec or a benchmark of a file: no checkpoint, no reference.

    Args:
        path: ``.onnx``, ``.plan``/``.engine`` or ``.pt2``.
        dataset: the data set to time and score on.
        samples, warmup: latency measurement.
        device: ``cpu``/``cuda`` (backend default when None).
        streaming: also score streaming FLAME.
        card: a card JSON for an engine that carries none.
        events: progress receiver.
        latency_scale: every measured latency sample multiplied by this (what-if).
        forecasts: forecast methods, one row each (default ``none`` only).

    Returns:
        One :class:`BenchRow` per forecast method (``agreement`` is None: there is no reference to agree with).

    Raises:
        EngineError, CardError, DependencyError: when the engine cannot be loaded here.
        DataError: when the engine does not fit the data set.
    """
    from flame.apps.assess import check_compatible
    from flame.apps.forecast import forecasting
    from flame.runtime.engines import load_engine

    events = events or Events()
    latency_scale = check_latency_scale(latency_scale)
    with load_engine(path, device=device, card=card) as engine:
        check_compatible(engine.card, dataset)
        row = BenchRow(engine_format(engine), "ok", path=str(path), size_mb=Path(path).stat().st_size / 2**20)
        events.stage(f"{row.format}: {Path(path).name}")
        row.size = (int(engine.card.input_size[0]), int(engine.card.input_size[1]))
        plans = [forecasting(method, engine.card.class_names, dataset)
                 for method in dict.fromkeys(forecasts or ["none"])]
        rows = [row, *_score(row, engine, dataset, samples, warmup, streaming, events, latency_scale, plans)]
    mark_best(rows)
    return rows


