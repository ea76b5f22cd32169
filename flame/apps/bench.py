"""``flame-bench``: what each deployment format buys in FLAME, not just in milliseconds.

For one checkpoint, every format available here is exported, loaded, timed
through flame-run's loop on the data set's frames, and scored at its own k:
one row per format with status, file size, latency p50/p99, static mIoU,
FLAME and pixel agreement with the PyTorch reference. For an engine file on
its own (:func:`bench_engine`), one row with the same figures but agreement.
With several forecast methods (``none,flow``) each format gets one row per
method: the same engine and latency samples, the forecast's cost (timed once)
charged on top.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flame.apps.events import Events
from flame.core.errors import ConfigError, DependencyError, EngineError
from flame.evaluation.datasets import SequenceDataset

#: Format name -> (exporter format, FP16).
FORMATS: dict[str, tuple[str | None, bool]] = {
    "torch": (None, False),
    "pt2": ("torch", False),
    "onnx": ("onnx", False),
    "onnx-fp16": ("onnx", True),
    "tensorrt-fp16": ("tensorrt", True),
}
DEFAULT_FORMATS = tuple(FORMATS)
AGREEMENT_WINDOWS = 8


@dataclass
class BenchRow:
    """One format's figures; ``status`` is ``ok``, ``export only`` or ``unavailable``."""

    format: str
    status: str
    why: str | None = None
    path: str | None = None
    size_mb: float | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    k: int | None = None
    miou: float | None = None
    flame: float | None = None
    streaming_flame: float | None = None
    agreement: float | None = None
    forecast: str = "none"
    forecast_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_formats(text: str | None) -> list[str]:
    """Comma-separated format names, checked.

    Raises:
        ConfigError: on an unknown or empty list.
    """
    names = [n.strip() for n in (text or ",".join(DEFAULT_FORMATS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise ConfigError(f"unknown format(s) {unknown or text!r}; choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(names))


def parse_forecasts(text: str | None) -> list[str]:
    """Comma-separated forecast method names, checked (default ``none``).

    Raises:
        ConfigError: on an unknown name.
    """
    from flame.runtime.forecast import FORECASTERS

    names = [n.strip() for n in (text or "none").split(",") if n.strip()] or ["none"]
    unknown = [n for n in names if n not in FORECASTERS]
    if unknown:
        raise ConfigError(f"unknown forecast method(s) {unknown}; choose from {', '.join(FORECASTERS)}")
    return list(dict.fromkeys(names))


def agreement_windows(dataset: SequenceDataset, window: int, size: tuple[int, int],
                      count: int = AGREEMENT_WINDOWS) -> list[np.ndarray]:
    """Real input windows from the data set, evenly spread, resized to the engine input."""
    import cv2

    height, width = size
    candidates = [(seq, i) for seq in dataset.sequences for i in range(window - 1, seq.num_frames)]
    if not candidates:
        raise ConfigError(f"no sequence of {dataset.name} is long enough for a window of {window}")
    picks = np.linspace(0, len(candidates) - 1, min(count, len(candidates))).round().astype(int)
    out = []
    for p in picks:
        seq, i = candidates[p]
        frames = seq.window(i, window)
        out.append(np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_LINEAR) for f in frames]))
    return out


def bench(checkpoint: str | os.PathLike, dataset: SequenceDataset, formats: list[str] | None = None,
          out_dir: str | os.PathLike | None = None, samples: int = 50, warmup: int = 5, device: str | None = None,
          streaming: bool = True, events: Events | None = None,
          forecasts: list[str] | None = None) -> list[BenchRow]:
    """Export, time and score one checkpoint in every format asked for.

    Args:
        checkpoint: a ``flame-train`` checkpoint.
        dataset: the data set to time and score on.
        formats: names from :data:`FORMATS` (default all).
        out_dir: where the artifacts go (default ``<checkpoint stem>.bench/`` beside it).
        samples, warmup: latency measurement per format.
        device: ``cpu``/``cuda`` for the engines (backend default when None).
        streaming: also score streaming FLAME.
        events: progress receiver.
        forecasts: forecast methods (:data:`flame.runtime.forecast.FORECASTERS`), one row
            per format and method (default ``none`` only).

    Returns:
        One :class:`BenchRow` per format (and forecast), in the order asked.

    Raises:
        CheckpointError: when the checkpoint cannot be read.
        ConfigError, DataError: on bad options or a data set that does not fit the model.
    """
    from flame.apps.assess import check_compatible
    from flame.apps.forecast import forecasting
    from flame.export.exporter import default_output, export_checkpoint
    from flame.export.parity import compare
    from flame.trainer.reference import load_reference
    from flame.runtime.engines import load_engine

    events = events or Events()
    formats = formats or list(DEFAULT_FORMATS)
    checkpoint = Path(checkpoint)
    out_dir = Path(out_dir) if out_dir else checkpoint.with_name(checkpoint.stem + ".bench")
    out_dir.mkdir(parents=True, exist_ok=True)

    reference = load_reference(checkpoint, "cpu")
    card = reference.card
    check_compatible(card, dataset)
    windows = agreement_windows(dataset, card.window, card.input_size)
    with reference:
        expected = [np.asarray(reference(w)) for w in windows]
    plans = [forecasting(method, card.class_names, dataset) for method in dict.fromkeys(forecasts or ["none"])]

    rows = []
    for name in formats:
        fmt, fp16 = FORMATS[name]
        events.stage(name)
        row = BenchRow(name, "ok", forecast=plans[0].method)
        rows.append(row)
        try:
            if fmt is None:
                engine = load_reference(checkpoint, device)
                row.path = str(checkpoint)
            else:
                path = out_dir / default_output(checkpoint, fmt, fp16).name
                result = export_checkpoint(checkpoint, path, fmt, fp16=fp16, verify=False)
                row.path = str(result.path)
                row.size_mb = result.size_bytes / 2**20
                engine = load_engine(result.path, device=device)
        except (DependencyError, EngineError, ConfigError) as exc:
            row.status, row.why = ("export only" if row.path and fmt else "unavailable"), str(exc)
            continue
        if row.size_mb is None:
            row.size_mb = Path(row.path).stat().st_size / 2**20
        try:
            with engine:
                more = _score(row, engine, dataset, samples, warmup, streaming, events, plans)
                row.agreement = compare(expected, [engine(w) for w in windows], "labels")[0]
                for other in more:
                    other.agreement = row.agreement
                rows.extend(more)
        except (DependencyError, EngineError) as exc:
            row.status, row.why = "export only", str(exc)
    return rows


def _score(row: BenchRow, engine: Any, dataset: SequenceDataset, samples: int, warmup: int, streaming: bool,
           events: Events, plans: list[Any]) -> list[BenchRow]:
    """Time ``engine`` through flame-run's loop once and score it at its own k, into ``row``.

    ``row`` gets the first forecast plan's scores; each further plan (the same
    engine and latency samples, its own forecast cost charged) gets a copy of
    ``row``, returned in order.
    """
    from flame.apps.assess import assess, measure_latency

    latency = measure_latency(engine, dataset, samples, warmup)
    summary = latency.summary
    row.latency_p50_ms, row.latency_p99_ms = summary["p50"], summary["p99"]
    more = []
    for n, plan in enumerate(plans):
        target = row if n == 0 else BenchRow(**{**asdict(row), "forecast": plan.method})
        with events.progress() as progress:
            report = assess(engine, engine.card, dataset, latency, streaming, None, progress, forecast=plan)
        target.k, target.miou, target.flame = report["k"], report["miou"], report["flame"]
        target.streaming_flame = report["streaming_flame"]
        target.forecast = plan.method
        target.forecast_ms = report["latency_ms"]["forecast_ms"]
        target.extra = {"engine": engine.describe(), "latency_ms": report["latency_ms"]}
        if n:
            more.append(target)
    return more


def engine_format(engine: Any) -> str:
    """The bench format name of a loaded engine: ``onnx``, ``onnx-fp16``, ``tensorrt-fp16``, ``pt2``..."""
    base = {"onnxruntime": "onnx", "tensorrt": "tensorrt", "torch-export": "pt2"}.get(engine.backend, engine.backend)
    return base + ("-fp16" if engine.card.precision == "fp16" else "")


def bench_engine(path: str | os.PathLike, dataset: SequenceDataset, samples: int = 50, warmup: int = 5,
                 device: str | None = None, streaming: bool = True, card: str | os.PathLike | None = None,
                 events: Events | None = None, forecasts: list[str] | None = None) -> list[BenchRow]:
    """One row for an engine file on its own, like trtexec or a benchmark of a file: no checkpoint, no reference.

    Args:
        path: ``.onnx``, ``.plan``/``.engine`` or ``.pt2``.
        dataset: the data set to time and score on.
        samples, warmup: latency measurement.
        device: ``cpu``/``cuda`` (backend default when None).
        streaming: also score streaming FLAME.
        card: a card JSON for an engine that carries none.
        events: progress receiver.
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
    with load_engine(path, device=device, card=card) as engine:
        check_compatible(engine.card, dataset)
        row = BenchRow(engine_format(engine), "ok", path=str(path), size_mb=Path(path).stat().st_size / 2**20)
        events.stage(f"{row.format}: {Path(path).name}")
        plans = [forecasting(method, engine.card.class_names, dataset)
                 for method in dict.fromkeys(forecasts or ["none"])]
        more = _score(row, engine, dataset, samples, warmup, streaming, events, plans)
    return [row, *more]


def rows_as_dicts(rows: list[BenchRow]) -> list[dict[str, Any]]:
    """JSON-friendly rows."""
    return [asdict(row) for row in rows]
