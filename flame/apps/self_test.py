"""``flame-doctor --self-test``: proof that each deployment path works on this machine.

:func:`self_test` first runs the engine shipped with the package on every ONNX
Runtime provider through the real-time loop (:mod:`flame.apps.shipped_engine`:
no torch needed, so a robot install is checked too), then builds a tiny network, exports it to every format this
machine supports, runs each artifact on each device it can, compares its
labels with the PyTorch reference (thresholds of :mod:`flame.export.parity`),
times it, and runs two steps of the training loop on each device. Every check is one
:class:`Check` row: ``ok``, ``failed`` (with the one-line reason) or
``unavailable`` (with why: nothing on this machine to run it on).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from flame.core.sizes import format_size
from flame.apps.environment import one_line
from flame.apps.events import Events
from flame.apps.self_test_exports import EXPORT_ROWS, build_exports
from flame.apps.shipped_engine import shipped_rows
from flame.apps.tiny_network import TINY_ARCHITECTURE, TINY_SIZE, tiny_checkpoint, train_step
from flame.core.deps import install_hint, installed
from flame.core.errors import FlameError

OK, FAILED, UNAVAILABLE = "ok", "failed", "unavailable"

#: Calls timed per engine at least (one per window when there are more).
TIMED_CALLS = 5


@dataclass
class Check:
    """One self-test row.

    Attributes:
        name: what was checked (``run: ONNX FP16 on CUDA``...).
        status: ``ok``, ``failed`` or ``unavailable``.
        detail: the result (agreement, latency) when ok, the one-line reason otherwise.
        seconds: how long the check took.
        latency_ms: median time of one call (run checks).
        agreement: fraction of pixels whose label matches the PyTorch reference (run checks).
    """

    name: str
    status: str
    detail: str = ""
    seconds: float | None = None
    latency_ms: float | None = None
    agreement: float | None = None


class _Rows:
    """Collects the rows, timing each and turning its failure into one line."""

    def __init__(self, events: Events) -> None:
        self.rows: list[Check] = []
        self._events = events

    def add(self, check: Check) -> Check:
        self.rows.append(check)
        self._events.info(f"{check.name}: {check.status}" + (f" ({check.detail})" if check.detail else ""))
        return check

    def unavailable(self, name: str, why: str) -> Check:
        return self.add(Check(name, UNAVAILABLE, why))

    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[Check]:
        """A check: ok when the block ends, failed with its reason when it raises."""
        row = Check(name, OK)
        self._events.stage(name)
        began = time.perf_counter()
        try:
            yield row
        except Exception as exc:  # each check reports its own failure; the next ones still run
            row.status, row.detail = FAILED, one_line(exc)
        row.seconds = round(time.perf_counter() - began, 3)
        self.add(row)


def _torch_missing() -> str | None:
    for module in ("torch", "onnx"):
        if not installed(module):
            return install_hint(module)
    return None


def _cuda_missing() -> str | None:
    """Why torch cannot use a CUDA device here (None when it can)."""
    import torch

    if not torch.version.cuda:
        return f"torch {torch.__version__} is a CPU-only build"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no CUDA device"
    return None


def _ort_cuda_missing() -> str | None:
    import onnxruntime as ort

    providers = ort.get_available_providers()
    if "CUDAExecutionProvider" not in providers:
        return f"ONNX Runtime {ort.__version__} has no CUDAExecutionProvider (providers: {', '.join(providers)})"
    return None


def _time_engine(engine: Callable[[np.ndarray], Any], windows: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """Labels of every window, and the median time of one call after a warm-up call."""
    engine(windows[0])
    labels, times = [], []
    for i in range(max(TIMED_CALLS, len(windows))):
        began = time.perf_counter()
        result = np.asarray(engine(windows[i % len(windows)]))
        times.append(1000.0 * (time.perf_counter() - began))
        if i < len(windows):
            labels.append(result)
    return labels, statistics.median(times)


def self_test(work_dir: str | os.PathLike | None = None,
              events: Events | None = None) -> list[Check]:
    """Run the shipped engine; export a tiny network to each format, run each on each device, train a step.

    Args:
        work_dir: where the artifacts go (a temporary folder, removed after, when None).
        events: told each check as it starts (``stage``) and its row once known (``info``).

    Returns:
        The rows, in order (one per check). A row whose dependency is missing is ``unavailable``
        and says why (torch's rows name the extra that installs it); nothing is raised for a failing check.
    """
    rows = _Rows(events or Events())
    with contextlib.ExitStack() as stack:
        folder = Path(work_dir) if work_dir else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="flame-doctor-")))
        folder.mkdir(parents=True, exist_ok=True)
        shipped_rows(rows)
        missing = _torch_missing()
        if missing:
            for name in ("network", *EXPORT_ROWS, "train: two steps on CPU", "train: two AMP steps on CUDA"):
                rows.unavailable(name, missing)
            return rows.rows
        _self_test(folder, rows)
    return rows.rows


def _self_test(folder: Path, rows: _Rows) -> None:
    import torch

    from flame.export.parity import THRESHOLDS, compare, parity_windows
    from flame.trainer.reference import load_reference
    from flame.runtime.engines import load_engine
    from flame.runtime.engines.tensorrt import missing_for_tensorrt

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(min(previous_threads, 4))  # a tiny network: more threads only contend
    try:
        cuda_missing = _cuda_missing()
        checkpoint = card = expected = None
        with rows.check(f"network: {TINY_ARCHITECTURE} {format_size(TINY_SIZE)}") as row:
            checkpoint = tiny_checkpoint(folder)
            with load_reference(checkpoint, "cpu") as reference:
                card = reference.card
                windows = parity_windows(card, 4)
                expected, ms = _time_engine(reference, windows)
            row.latency_ms, row.detail = ms, "random weights, sharpened; the PyTorch reference on CPU"
        if checkpoint is None or card is None or expected is None:
            return

        artifacts = build_exports(folder, checkpoint, rows)

        def run(name: str, artifact: str, device: str, why: str | None, precision: str,
                factory: Callable[[], Any] | None = None, **options: Any) -> None:
            if why:
                rows.unavailable(name, why)
                return
            path = artifacts.get(artifact)
            if factory is None and path is None:
                rows.unavailable(name, f"the {artifact} export did not succeed")
                return
            with rows.check(name) as row:
                opened = factory() if factory else load_engine(path, device=device, **options)
                with opened as engine:
                    if device == "cuda" and getattr(engine, "providers", ["CUDA"])[0] == "CPUExecutionProvider":
                        raise FlameError(f"ONNX Runtime lists CUDAExecutionProvider but ran on {engine.providers} "
                                         "(its CUDA or cuDNN libraries do not load)")
                    labels, ms = _time_engine(engine, windows)
                agreement = compare(expected, labels, "labels")[0]
                row.latency_ms, row.agreement = ms, agreement
                row.detail = f"labels {100 * agreement:.2f}% equal to the reference (>= {100 * THRESHOLDS[precision]:g}%)"
                if agreement < THRESHOLDS[precision]:
                    row.status = FAILED

        ort_cuda = _ort_cuda_missing()
        trt_missing = "; ".join(missing_for_tensorrt()) or None
        run("run: PyTorch reference on CUDA", "", "cuda", cuda_missing, "fp32",
            factory=lambda: load_reference(checkpoint, "cuda"))
        run("run: ONNX FP32 on CPU", "onnx", "cpu", None, "fp32")
        run("run: ONNX FP32 on CUDA", "onnx", "cuda", ort_cuda, "fp32", providers=["CUDAExecutionProvider"])
        run("run: ONNX FP16 on CPU", "onnx-fp16", "cpu", None, "fp16")
        run("run: ONNX FP16 on CUDA", "onnx-fp16", "cuda", ort_cuda, "fp16", providers=["CUDAExecutionProvider"])
        run("run: ONNX INT8 on CPU", "onnx-int8", "cpu", None, "int8")
        run("run: .pt2 on CPU", "pt2", "cpu", None, "fp32")
        run("run: .pt2 on CUDA", "pt2", "cuda", cuda_missing, "fp32")
        run("run: .pt2 on CUDA under FP16 autocast", "pt2-fp16", "cuda", cuda_missing, "fp16")
        run("run: TensorRT FP16", "tensorrt", "cuda", trt_missing, "fp16")
        run("run: TensorRT FP16 with a CUDA graph", "tensorrt", "cuda", trt_missing, "fp16", cuda_graph=True)
        run("run: TensorRT INT8", "tensorrt-int8", "cuda", trt_missing, "int8")

        with rows.check("train: two steps on CPU") as row:
            row.detail = train_step(folder, "cpu")
        if cuda_missing:
            rows.unavailable("train: two AMP steps on CUDA", cuda_missing)
        else:
            with rows.check("train: two AMP steps on CUDA") as row:
                row.detail = train_step(folder, "cuda")
    finally:
        torch.set_num_threads(previous_threads)


def exit_status(checks: list[Check]) -> int:
    """1 when a check that could run failed or none could run at all, else 0 (unavailable rows do not count)."""
    return 1 if any(c.status == FAILED for c in checks) or not any(c.status == OK for c in checks) else 0
