"""The ``flame-run`` report: what a run measured, as JSON that flame-eval can read.

Schema (``"report": "flame-run"``, ``"version": 1``)::

    report, version, created, end_reason, complete
    frames_captured, frames_processed, frames_dropped   # processed + dropped = captured
    duration_s, fps_in, fps_out
    latency_ms, wait_ms, engine_ms, forecast_ms, runtime_ms   # each count/mean/p50/p90/p99/max/min; latency =
                                                        # wait for the engine + engine + forecast + runtime's work
    forecast {method, fallbacks, fallback_reason}       # latency runs to the forecast labels
    output_ms, output_share                             # drawing/saving per frame; its total / run time (0..1)
    k, k_fps, k_latency_ms                              # k = ceil(p50 latency * source fps)
    window, window_padded, warmup
    engine {backend, device, path, card summary...}, card, source {...}, machine {cpu, gpu, ...}
    frame_fields ["index", "capture_ms", "finish_ms", "latency_ms", "wait_ms", "engine_ms", "previous", "forecast_ms"]
    frames [[index, capture_ms, finish_ms, latency_ms, wait_ms, engine_ms, previous, forecast_ms], ...]

Per-frame rows are compact lists (one line each) so hour-long runs stay small;
``frame_fields`` names the columns. Times are milliseconds since the run
started on the monotonic clock; ``previous`` is the source index of the
earlier frame of a two-frame window (-1 for one-frame models).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from flame.core.errors import DataError
from flame.core.files import json_safe, write_text
from flame.core.reports import check_kind, read_json_report
from flame.runtime.machine import machine_info

REPORT_KIND = "flame-run"
REPORT_VERSION = 1
FRAME_FIELDS = ("index", "capture_ms", "finish_ms", "latency_ms", "wait_ms", "engine_ms", "previous", "forecast_ms")
_INTEGER_FIELDS = ("index", "previous")
#: End reasons of a run that did all it was asked; any other (a source cut short, Ctrl-C) is incomplete.
COMPLETE_REASONS = ("end of source", "max frames", "duration")


def build_run_report(result: Any, engine: Any = None, source: Any = None) -> dict[str, Any]:
    """The report dictionary of a run.

    Args:
        result: the :class:`~flame.runtime.stream.RunResult`.
        engine: the engine (for its description and card), or None.
        source: the source (for its description), or None.

    Returns:
        The report (JSON-ready; see the module docstring for the schema).
    """
    summary = result.summary()
    cols = result.arrays()
    columns = [[int(v) for v in cols[name]] if name in _INTEGER_FIELDS else [round(float(v), 4) for v in cols[name]]
               for name in FRAME_FIELDS]
    frames = [list(row) for row in zip(*columns)]
    describe = engine.describe() if engine is not None else None
    return {
        "report": REPORT_KIND,
        "version": REPORT_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "complete": summary["end_reason"] in COMPLETE_REASONS,
        **summary,
        "engine": describe,
        "card": describe["card"] if describe else None,
        "source": source.describe() if source is not None else None,
        "machine": machine_info(),
        "frame_fields": list(FRAME_FIELDS),
        "frames": frames,
    }


def write_run_report(path: str | os.PathLike, report: dict[str, Any]) -> Path:
    """Write a report atomically: indented, with one line per frame.

    Args:
        path: the ``.json`` file.
        report: from :func:`build_run_report`.

    Returns:
        The path written.
    """
    report = json_safe(report)
    frames = report.pop("frames", [])
    head = json.dumps(report, indent=2, allow_nan=False)
    rows = ",\n".join("    " + json.dumps(row, separators=(",", ":")) for row in frames)
    text = head[:-2] + ',\n  "frames": [' + ("\n" + rows + "\n  " if rows else "") + "]\n}\n"
    return write_text(path, text)


def read_run_report(path: str | os.PathLike) -> dict[str, Any]:
    """Read a flame-run report, checking its kind and version.

    Args:
        path: the report file.

    Returns:
        The report, with ``frames`` also as columns in ``frame_columns``
        (numpy arrays keyed by ``frame_fields``).

    Raises:
        DataError: when the file is missing, not JSON, not a flame-run report,
            or of an unknown version.
    """
    report = read_json_report(path, "run report")
    check_kind(report, REPORT_KIND, REPORT_VERSION, str(path))
    fields = report.get("frame_fields") or list(FRAME_FIELDS)
    rows = np.asarray(report.get("frames") or [], dtype=np.float64).reshape(-1, len(fields))
    report["frame_columns"] = {name: rows[:, i] for i, name in enumerate(fields)}
    return report


def latency_samples_ms(report: dict[str, Any]) -> np.ndarray:
    """Per-frame latencies (ms) of a report read by :func:`read_run_report`.

    Raises:
        DataError: when the report has no processed frame.
    """
    samples = report["frame_columns"]["latency_ms"]
    if samples.size == 0:
        raise DataError("the run report has no processed frame, so no latency to use")
    return samples
