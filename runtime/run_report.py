"""The ``flame-run`` report: what a run measured, as a :class:`RunReport` that writes and reads its JSON.

Schema (``"report": "flame-run"``, ``"version": 1``)::

    report, version, created, end_reason, complete
    frames_captured, frames_processed, frames_dropped   # processed + dropped = captured
    duration_s, fps_in, fps_out
    latency_ms, wait_ms, engine_ms, forecast_ms, runtime_ms   # each count/mean/p50/p90/p99/max/min; latency =
                                                        # wait for the engine + engine + forecast + runtime's work
    forecast {method, fallbacks, fallback_reason}       # latency runs to the forecast labels
    output_ms, output_share                             # drawing/saving per frame; its total / run time (0..1)
    engine_breakdown_ms                                 # the engine's own timing spans, mean per frame
    k, k_fps, k_latency_ms                              # k = ceil(p50 latency * source fps)
    window, window_padded, warmup
    engine {backend, device, path, card summary...}, card, source {...}, machine {cpu, gpu, ...}
    frame_fields ["index", "capture_ms", "finish_ms", "latency_ms", "wait_ms", "engine_ms", "previous", "forecast_ms"]
    frames [[index, capture_ms, finish_ms, latency_ms, wait_ms, engine_ms, previous, forecast_ms], ...]

Per-frame rows are compact lists (one line each) so hour-long runs stay small;
``frame_fields`` names the columns. Times are milliseconds since the run
started on the monotonic clock; ``previous`` is the source index of the
earlier frame of a two-frame window (-1 for one-frame models). In Python the
frames are one structured array (:data:`~flame.runtime.stream_result.FRAME_DTYPE`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flame.core.errors import DataError
from flame.core.files import json_safe, write_text
from flame.core.reports import check_kind, read_json_report
from flame.runtime.machine import machine_info
from flame.runtime.stream_result import FRAME_DTYPE

REPORT_KIND = "flame-run"
REPORT_VERSION = 1
#: The per-frame columns a report file holds (``runtime_ms`` is derived from them when read).
FRAME_FIELDS = tuple(name for name in FRAME_DTYPE.names if name != "runtime_ms")
_INTEGER_FIELDS = ("index", "previous")
#: End reasons of a run that did all it was asked; any other (a source cut short, Ctrl-C) is incomplete.
COMPLETE_REASONS = ("end of source", "max frames", "duration")

Summary = dict[str, Any]  # count/mean/p50/p90/p99/max/min of :func:`flame.core.latency.summarize`


@dataclass
class RunReport:
    """What a run measured (see the module docstring for the JSON it writes and reads).

    The figures are :meth:`flame.runtime.stream.RunResult.summary`'s; ``frames``
    is one :data:`~flame.runtime.stream_result.FRAME_DTYPE` row per processed frame.
    """

    end_reason: str
    frames_captured: int
    frames_processed: int
    frames_dropped: int
    duration_s: float
    fps_in: float | None
    fps_out: float | None
    latency_ms: Summary
    wait_ms: Summary
    engine_ms: Summary
    forecast_ms: Summary
    forecast: dict[str, Any]
    runtime_ms: Summary
    output_ms: Summary
    output_share: float | None
    engine_breakdown_ms: dict[str, float] | None
    k: int | None
    k_fps: float | None
    k_latency_ms: float | None
    window: int
    window_padded: int
    warmup: int
    fit: str | None = "stretch"  # how frames met the engine's input (older reports: None)
    frames: np.ndarray = field(default_factory=lambda: np.zeros(0, FRAME_DTYPE))
    engine: dict[str, Any] | None = None
    card: dict[str, Any] | None = None
    source: dict[str, Any] | None = None
    machine: dict[str, Any] | None = None
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    @property
    def complete(self) -> bool:
        """The run did all it was asked (:data:`COMPLETE_REASONS`)."""
        return self.end_reason in COMPLETE_REASONS

    def latency_samples_ms(self) -> np.ndarray:
        """Per-frame latencies (ms).

        Raises:
            DataError: when the report has no processed frame.
        """
        if self.frames.size == 0:
            raise DataError("the run report has no processed frame, so no latency to use")
        return self.frames["latency_ms"].astype(np.float64)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (the module docstring's schema, in that order), frames as rows of :data:`FRAME_FIELDS`."""
        figures = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                   if f.name not in ("frames", "engine", "card", "source", "machine", "created")}
        rows = [[int(row[name]) if name in _INTEGER_FIELDS else round(float(row[name]), 4) for name in FRAME_FIELDS]
                for row in self.frames]
        return {"report": REPORT_KIND, "version": REPORT_VERSION, "created": self.created, "complete": self.complete,
                **figures, "engine": self.engine, "card": self.card, "source": self.source, "machine": self.machine,
                "frame_fields": list(FRAME_FIELDS), "frames": rows}

    def write(self, path: str | os.PathLike) -> Path:
        """Write the report atomically: indented, with one line per frame."""
        data = json_safe(self.to_dict())
        frames = data.pop("frames")
        head = json.dumps(data, indent=2, allow_nan=False)
        rows = ",\n".join("    " + json.dumps(row, separators=(",", ":")) for row in frames)
        return write_text(path, head[:-2] + ',\n  "frames": [' + ("\n" + rows + "\n  " if rows else "") + "]\n}\n")

    @classmethod
    def from_dict(cls, data: Any, where: str = "run report") -> RunReport:
        """A report from its JSON object; figures a file lacks are None, frame columns it lacks 0.

        Raises:
            DataError: when it is not a flame-run report or of an unknown version.
        """
        check_kind(data, REPORT_KIND, REPORT_VERSION, where)
        names = [f.name for f in dataclasses.fields(cls) if f.name != "frames"]
        known = {name: data.get(name) for name in names if name != "created" or name in data}
        return cls(**known, frames=_frames(data.get("frame_fields") or list(FRAME_FIELDS), data.get("frames"), where))

    @classmethod
    def read(cls, path: str | os.PathLike) -> RunReport:
        """Read a flame-run report file.

        Raises:
            DataError: when the file is missing, not JSON, not a flame-run report, or of an unknown version.
        """
        return cls.from_dict(read_json_report(path, "run report"), str(path))


def _frames(fields: list[str], rows: Any, where: str) -> np.ndarray:
    """The frame rows of a report file as a :data:`FRAME_DTYPE` array (``runtime_ms`` derived)."""
    try:
        table = np.asarray(rows or [], dtype=np.float64).reshape(-1, len(fields))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: its frames are not rows of {len(fields)} numbers ({exc})") from exc
    frames = np.zeros(len(table), FRAME_DTYPE)
    for i, name in enumerate(fields):
        if name in FRAME_DTYPE.names:
            frames[name] = table[:, i]
    frames["runtime_ms"] = np.maximum(0.0, frames["latency_ms"] - frames["wait_ms"] - frames["engine_ms"]
                                      - frames["forecast_ms"])
    return frames


def build_run_report(result: Any, engine: Any = None, source: Any = None) -> RunReport:
    """The report of a run.

    Args:
        result: the :class:`~flame.runtime.stream.RunResult`.
        engine: the engine (for its description and card), or None.
        source: the source (for its description), or None.
    """
    describe = engine.describe() if engine is not None else None
    return RunReport(**result.summary(), frames=result.arrays(), engine=describe,
                     card=describe["card"] if describe else None,
                     source=source.describe() if source is not None else None, machine=machine_info())


def write_run_report(path: str | os.PathLike, report: RunReport) -> Path:
    """Write a report atomically (:meth:`RunReport.write`)."""
    return report.write(path)


def read_run_report(path: str | os.PathLike) -> RunReport:
    """Read a flame-run report, checking its kind and version (:meth:`RunReport.read`)."""
    return RunReport.read(path)


def latency_samples_ms(report: RunReport) -> np.ndarray:
    """Per-frame latencies (ms) of a report (:meth:`RunReport.latency_samples_ms`)."""
    return report.latency_samples_ms()
