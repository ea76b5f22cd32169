"""The facts a bug report needs about this machine, for ``flame-doctor``.

:func:`environment` lists Python, numpy, OpenCV and its video backends, ONNX
Runtime and its providers, torch and its CUDA, the GPUs, TensorRT,
cuda-bindings, cameras, a Jetson's model and power mode. It imports nothing
heavy it does not report on and never raises.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flame.core.errors import FlameError, first_line
from flame.core.deps import install_hint, installed


@dataclass(frozen=True)
class Fact:
    """One line of the environment: ``name: value``."""

    name: str
    value: str


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def one_line(exc: BaseException) -> str:
    """An exception as one short line (library errors say what they mean; others get their type)."""
    return first_line(exc, 300, typed=not isinstance(exc, FlameError))


def _run(args: list[str], timeout_s: float = 5.0) -> str | None:
    """stdout of a command, or None when it is missing, fails or hangs."""
    if shutil.which(args[0]) is None:
        return None
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").replace("\x00", "").strip() or None
    except OSError:
        return None


def opencv_backends() -> dict[str, bool]:
    """Whether OpenCV's video I/O has FFmpeg, GStreamer and V4L2 (from its build information)."""
    import cv2

    registered = {cv2.videoio_registry.getBackendName(b).upper() for b in cv2.videoio_registry.getBackends()}
    return {name: any(name in b for b in registered) for name in ("FFMPEG", "GSTREAMER", "V4L2")}


def gpus() -> tuple[list[str], str | None]:
    """One description per NVIDIA GPU (name, compute capability, memory, driver), and why there is none."""
    smi = _run(["nvidia-smi", "--query-gpu=name,compute_cap,memory.total,driver_version", "--format=csv,noheader"])
    if smi:
        rows = []
        for line in smi.splitlines():
            name, cc, memory, driver = (part.strip() for part in line.split(",", 3))
            rows.append(f"{name}, compute capability {cc}, {memory}, driver {driver}")
        return rows, None
    if not installed("cuda.bindings"):
        return [], "nvidia-smi not found and cuda-bindings not installed"
    from flame.runtime.engines import cudart

    try:
        count = cudart.device_count()
        from cuda.bindings import runtime as rt

        driver = cudart.check(rt.cudaDriverGetVersion(), "cudaDriverGetVersion")
        rows = []
        for index in range(count):
            props = cudart.check(rt.cudaGetDeviceProperties(index), "cudaGetDeviceProperties")
            name = props.name.split(b"\0", 1)[0].decode(errors="replace") if isinstance(props.name, bytes) \
                else str(props.name)
            rows.append(f"{name}, compute capability {props.major}.{props.minor}, "
                        f"{int(props.totalGlobalMem) >> 20} MiB, CUDA driver API {driver // 1000}.{driver % 1000 // 10}")
        return rows, None
    except FlameError as exc:
        return [], one_line(exc)


def cameras() -> list[str]:
    """Video capture devices the kernel lists (``/dev/video*`` with their names); not opened."""
    found = []
    for device in sorted(Path("/dev").glob("video*"), key=lambda p: (len(p.name), p.name)):
        name = _read(f"/sys/class/video4linux/{device.name}/name")
        found.append(f"{device}" + (f" ({name})" if name else ""))
    return found


def jetson() -> list[Fact]:
    """A Jetson's model, L4T release and power mode, when readable (empty elsewhere)."""
    model = _read("/proc/device-tree/model")
    release = _read("/etc/nv_tegra_release")
    if not release and not (model and "jetson" in model.lower()):
        return []
    facts = [Fact("Jetson", model or "unknown model")]
    if release:
        facts.append(Fact("L4T", release.splitlines()[0][:120]))
    mode = _run(["nvpmodel", "-q"])
    facts.append(Fact("power mode", " ".join(mode.split()) if mode else "unknown (nvpmodel -q not readable)"))
    return facts


def _torch_facts() -> list[Fact]:
    if not installed("torch"):
        return [Fact("torch", install_hint("torch") or "not installed")]
    try:
        import torch
    except Exception as exc:  # installed but broken: say so, do not stop the report
        return [Fact("torch", f"does not import: {one_line(exc)}")]
    cuda = torch.version.cuda
    if not cuda:
        where = "CPU-only build"
    elif torch.cuda.is_available():
        where = f"CUDA {cuda}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.device_count()} device(s)"
    else:
        where = f"built for CUDA {cuda}, but no CUDA device answers"
    return [Fact("torch", f"{torch.__version__} ({where})")]


def environment() -> list[Fact]:
    """The facts of this machine, in report order (never raises)."""
    from flame.runtime.machine import cpu_name

    facts = [Fact("Python", f"{platform.python_version()} ({sys.executable})"),
             Fact("system", f"{platform.system()} {platform.release()} {platform.machine()}, {cpu_name()}, "
                            f"{os.cpu_count()} CPUs"),
             Fact("flame-rt", _version("flame-rt") or "not installed (running from a source tree)"),
             Fact("numpy", np.__version__)]
    try:
        import cv2

        backends = opencv_backends()
        facts.append(Fact("OpenCV", f"{cv2.__version__}; video: "
                                    + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in backends.items())))
    except Exception as exc:
        facts.append(Fact("OpenCV", f"unavailable: {one_line(exc)}"))
    try:
        import onnxruntime as ort

        facts.append(Fact("ONNX Runtime", f"{ort.__version__}; providers: {', '.join(ort.get_available_providers())}"))
    except Exception as exc:
        facts.append(Fact("ONNX Runtime", f"unavailable: {one_line(exc)}"))
    facts += _torch_facts()
    devices, why = gpus()
    facts += [Fact(f"GPU {i}", d) for i, d in enumerate(devices)] or [Fact("GPU", f"none: {why}")]
    facts.append(Fact("TensorRT", _tensorrt_fact()))
    facts.append(Fact("cuda-bindings", _version("cuda-bindings") or "not installed"))
    found = cameras()
    facts.append(Fact("cameras", ", ".join(found) if found else "none found (/dev/video*)"))
    return facts + jetson()


def _tensorrt_fact() -> str:
    if installed("tensorrt"):
        return _version("tensorrt") or _version("tensorrt-cu12") or _version("tensorrt-cu13") or "installed (JetPack?)"
    if importlib.util.find_spec("tensorrt") is not None:
        return "not installed (only its type stubs are)"
    return "not installed"
