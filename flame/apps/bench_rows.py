"""``flame-bench``'s rows and what picks them: the format names, the options' parsing, the best row and
the Pareto front (the sweep that fills the rows is :mod:`flame.apps.bench`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from flame.core.errors import ConfigError, param
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
