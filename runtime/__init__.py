"""Deployment runtime: engines, sources, the real-time loop and run reports.

Depends on numpy and OpenCV; an engine backend (ONNX Runtime, TensorRT,
torch) is imported only when an engine of that kind is loaded, so
``import flame.runtime`` stays cheap on a robot. Never imports torch or
``flame.evaluation``. The contracts are in docs/architecture.md. The main names::

    from flame.runtime import Stream, load_engine, open_source

    with load_engine("model.onnx") as engine, open_source(camera=0) as source:
        result = Stream(engine, source, max_frames=300).run()

A forecast of the labels to when they are used: ``Stream(..., forecaster=make_forecaster("flow",
engine.card.class_names))``.
"""

from flame.core.card import ModelCard
from flame.runtime.engines import Engine, Timing, load_engine
from flame.runtime.forecast import FORECASTERS, Forecast, make_forecaster
from flame.runtime.machine import machine_info
from flame.runtime.overlay import VideoOutput, WindowOutput
from flame.runtime.run_report import RunReport, build_run_report, latency_samples_ms, read_run_report, write_run_report
from flame.runtime.sources import (
    ArraySource,
    CameraSource,
    FolderSource,
    LiveSource,
    Source,
    UrlSource,
    VideoSource,
    open_source,
)
from flame.runtime.stream import Stream
from flame.runtime.stream_result import FrameResult, LiveStats, RunResult

__all__ = [
    "ArraySource", "CameraSource", "Engine", "FORECASTERS", "FolderSource", "Forecast", "FrameResult", "LiveSource", "LiveStats", "ModelCard",
    "RunReport", "RunResult", "Source", "Stream", "Timing", "UrlSource", "VideoOutput", "VideoSource", "WindowOutput",
    "build_run_report", "latency_samples_ms", "load_engine", "machine_info", "make_forecaster", "open_source", "read_run_report",
    "write_run_report",
]
