"""The self-test's shipped engine: proof that the runtime works on a robot install, without torch.

``flame/apps/selftest/probe.onnx`` is a few-kB FLAME ONNX export and
``probe.npz`` its input frames with the labels the PyTorch reference gives them
(both written by ``scripts/make_selftest_engine.py``, :mod:`flame.apps.shipped_build`).
:func:`shipped_rows` runs it on every ONNX Runtime execution provider this
machine lists, through the real-time loop (:class:`flame.runtime.stream.Stream`
on an in-memory source), and compares each frame's labels with the reference's.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from flame.core.errors import DependencyError, FlameError
from flame.export.parity import THRESHOLDS

#: Frames each provider's run processes (the shipped frames, repeated): enough for a median latency.
STREAM_FRAMES = 24
CPU = "CPUExecutionProvider"
#: Providers listed everywhere that compute nothing here (Azure sends requests to a remote endpoint).
NOT_LOCAL = ("AzureExecutionProvider",)


def shipped_files() -> tuple[Path, Path]:
    """The shipped engine and its frames and labels (package data of ``flame.apps``)."""
    folder = Path(str(resources.files("flame.apps") / "selftest"))
    return folder / "probe.onnx", folder / "probe.npz"


class _Collect:
    """A stream output keeping each processed frame's index and labels."""

    def __init__(self) -> None:
        self.labels: list[tuple[int, np.ndarray]] = []

    def __call__(self, result: Any) -> None:
        self.labels.append((result.frame.index, np.array(result.labels)))

    def close(self) -> None:
        pass


def run_shipped(provider: str, onnx_path: Path, frames: np.ndarray, expected: np.ndarray) -> tuple[float, dict]:
    """Run the shipped engine on ``provider`` through the stream loop.

    Returns:
        ``(agreement, summary)``: the fraction of pixels whose label equals the reference's,
        and the run's :meth:`~flame.runtime.stream_result.RunResult.summary`.

    Raises:
        FlameError: when ONNX Runtime lists the provider but runs on another one.
    """
    from flame.runtime.engines.onnxrt import OnnxRuntimeEngine
    from flame.runtime.file_sources import ArraySource
    from flame.runtime.stream import Stream

    providers = [provider] if provider == CPU else [provider, CPU]  # the CPU takes the ops a GPU provider does not
    with OnnxRuntimeEngine(onnx_path, providers=providers) as engine:
        if engine.providers[0] != provider:
            raise FlameError(f"ONNX Runtime lists {provider} but ran on {engine.providers} "
                             "(its libraries do not load)")
        collect = _Collect()
        source = ArraySource((frames[i % len(frames)] for i in range(STREAM_FRAMES)), fps=engine.card.fps,
                             name="the self-test's frames")
        result = Stream(engine, source, warmup=2, outputs=[collect]).run()
    if not collect.labels:
        raise FlameError("the stream loop processed no frame")
    equal = sum(int((labels == expected[index % len(expected)]).sum()) for index, labels in collect.labels)
    return equal / (len(collect.labels) * expected[0].size), result.summary()


def shipped_rows(rows: Any) -> None:
    """One row per ONNX Runtime provider: the shipped engine's labels against the reference, timed.

    Args:
        rows: the self-test's row collector (``check(name)`` and ``unavailable(name, why)``).
    """
    from flame.runtime.engines.onnxrt import import_ort

    try:
        ort = import_ort()
    except DependencyError as exc:
        rows.unavailable("run: shipped ONNX engine", str(exc))
        return
    onnx_path, data_path = shipped_files()
    for provider in (p for p in ort.get_available_providers() if p not in NOT_LOCAL):
        with rows.check(f"run: shipped ONNX engine on {provider.removesuffix('ExecutionProvider')}, "
                        "stream loop") as row:
            with np.load(data_path) as data:
                frames, expected = data["frames"], data["labels"]
            agreement, summary = run_shipped(provider, onnx_path, frames, expected)
            latency = summary["latency_ms"]["p50"]
            row.latency_ms, row.agreement = summary["engine_ms"]["p50"], agreement
            row.detail = (f"labels {100 * agreement:.2f}% equal to the PyTorch reference's (>= "
                          f"{100 * THRESHOLDS['fp32']:g}%), {summary['frames_processed']} frames, "
                          f"latency p50 {latency:.2f} ms")
            if agreement < THRESHOLDS["fp32"]:
                row.status = "failed"
