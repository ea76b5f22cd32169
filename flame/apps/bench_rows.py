"""``flame-bench``'s rows and what picks them: the format names, the options' parsing, the best row and
the Pareto front (the sweep that fills the rows is :mod:`flame.apps.bench`)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flame.core.errors import ConfigError, param
from flame.core.files import write_json
from flame.core.reports import check_kind, read_json_report
from flame.core.sizes import parse_size

#: Format name -> (exporter format, precision).
FORMATS: dict[str, tuple[str | None, str]] = {
    "torch": (None, "fp32"),
    "pt2": ("torch", "fp32"),
    "onnx": ("onnx", "fp32"),
    "onnx-fp16": ("onnx", "fp16"),
    "onnx-int8": ("onnx", "int8"),
    "tensorrt-fp16": ("tensorrt", "fp16"),
    "tensorrt-int8": ("tensorrt", "int8"),
}
DEFAULT_FORMATS = tuple(FORMATS)


@dataclass
class BenchRow:
    """One (format, size)'s figures; ``status`` is ``ok``, ``export only`` or ``unavailable``.

    ``best`` marks the ok row with the highest FLAME (the first of equals).
    """

    format: str
    status: str
    size: tuple[int, int] | None = None
    best: bool = False
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


def parse_names(text: str | None, choices: Any, default: str, what: str) -> list[str]:
    """A comma-separated list of registry names, checked, repeats dropped (``default`` when empty).

    Raises:
        ConfigError: on an unknown name or an empty list.
    """
    names = [n.strip() for n in (text or default).split(",") if n.strip()]
    unknown = [n for n in names if n not in choices]
    if unknown or not names:
        raise ConfigError(f"unknown {what}(s) {unknown or text!r}; choose from {', '.join(choices)}")
    return list(dict.fromkeys(names))


def parse_formats(text: str | None) -> list[str]:
    """Comma-separated format names (default all)."""
    return parse_names(text, FORMATS, ",".join(DEFAULT_FORMATS), "format")


def parse_forecasts(text: str | None) -> list[str]:
    """Comma-separated forecast method names (default ``none``)."""
    from flame.runtime.forecast import FORECASTERS

    return parse_names(text, FORECASTERS, "none", "forecast method")


def parse_sizes(text: str | None) -> list[tuple[int, int]] | None:
    """``HxW,HxW,...`` into a list of sizes (None for none given).

    Raises:
        ConfigError: on a malformed size or one that is not a multiple of 32.
    """
    from flame.trainer.models import check_input_size

    if text is None:
        return None
    sizes = []
    for part in (p.strip() for p in text.split(",")):
        try:
            size = parse_size(part)
        except ConfigError as exc:
            raise ConfigError(f"expected {param('sizes')} as HxW,HxW,... (for example 256x512,512x1024), "
                              f"found {part!r}") from exc
        check_input_size(*size)
        sizes.append(size)
    if not sizes:
        raise ConfigError(f"expected at least one size HxW in {param('sizes')}")
    return list(dict.fromkeys(sizes))


def check_latency_scale(scale: float) -> float:
    """Return the what-if latency factor or raise on a non-positive or non-finite one.

    Raises:
        ConfigError: on a factor that is not a positive number.
    """
    if not np.isfinite(scale) or scale <= 0:
        raise ConfigError(f"expected a positive {param('latency_scale')}, found {scale!r}")
    return float(scale)


def mark_best(rows: list[BenchRow]) -> BenchRow | None:
    """Mark (and return) the ok row with the highest FLAME; the first one wins ties."""
    scored = [row for row in rows if row.status == "ok" and row.flame is not None]
    for row in rows:
        row.best = False
    if not scored:
        return None
    best = max(scored, key=lambda row: float(row.flame or 0.0))  # max keeps the first of equal values
    best.best = True
    return best


def pareto_front(rows: list[BenchRow]) -> list[BenchRow]:
    """The scored rows no other row beats on both latency p50 (lower) and FLAME (higher), fastest first."""
    scored = sorted((r for r in rows if r.status == "ok" and r.flame is not None and r.latency_p50_ms is not None),
                    key=lambda r: (float(r.latency_p50_ms or 0.0), -float(r.flame or 0.0)))
    front: list[BenchRow] = []
    best = -np.inf
    for row in scored:
        if float(row.flame or 0.0) > best:
            front.append(row)
            best = float(row.flame or 0.0)
    return front


def rows_as_dicts(rows: list[BenchRow]) -> list[dict[str, Any]]:
    """JSON-friendly rows."""
    return [asdict(row) for row in rows]


#: ``flame-bench --json``'s kind and version (files without them are version 0: the same fields).
BENCH_KIND, BENCH_VERSION = "flame-bench", 1


@dataclass
class BenchReport:
    """What ``flame-bench`` measured: the rows and what they were measured on; writes and reads its JSON.

    Attributes:
        subject: the checkpoint swept, or the engine file timed alone (``is_engine``).
        dataset, fps: the data set the rows were timed and scored on, and its frame rate.
        latency_scale: the what-if factor every measured latency was multiplied by.
        rows: one per (format, size, forecast).
    """

    subject: str
    is_engine: bool
    dataset: str
    fps: float
    latency_scale: float
    rows: list[BenchRow]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: ``report``, ``version``, ``checkpoint`` or ``engine``, ``dataset``, ``fps``,
        ``latency_scale``, ``rows``."""
        return {"report": BENCH_KIND, "version": BENCH_VERSION, ("engine" if self.is_engine else "checkpoint"):
                self.subject, "dataset": self.dataset, "fps": self.fps, "latency_scale": self.latency_scale,
                "rows": rows_as_dicts(self.rows)}

    def write(self, path: str | os.PathLike) -> Path:
        """Write the JSON atomically."""
        return write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "bench report") -> BenchReport:
        """A report back from its JSON (version 1, or a file written before versions: the same fields).

        Raises:
            DataError: on another kind of file or an unknown version.
        """
        check_kind(data, BENCH_KIND, BENCH_VERSION, where, unversioned="rows")
        rows = [BenchRow(**{**row, "size": tuple(row["size"]) if row.get("size") else None})
                for row in data["rows"]]
        engine = "engine" in data
        return cls(str(data["engine" if engine else "checkpoint"]), engine, data["dataset"], data["fps"],
                   data["latency_scale"], rows)

    @classmethod
    def read(cls, path: str | os.PathLike) -> BenchReport:
        """Read a ``flame-bench --json`` file.

        Raises:
            DataError: when it is missing, not JSON or not a bench report.
        """
        return cls.from_dict(read_json_report(path, "bench report"), f"bench report {path}")
