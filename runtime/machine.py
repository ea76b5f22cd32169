"""What machine a measurement was taken on: CPU and GPU names, for reports.

Latency only means something next to the hardware it was measured on. Every
function here answers something (None when it cannot tell) and never raises.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from typing import Any


def cpu_name() -> str:
    """The CPU model name (``/proc/cpuinfo``, else the platform's answer).

    Returns:
        A human-readable name, ``unknown CPU`` when nothing says.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                # x86 says "model name"; some ARM kernels say "Model" or "Hardware".
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def gpu_names(timeout_s: float = 3.0) -> list[str] | None:
    """Names of the NVIDIA GPUs, from ``nvidia-smi`` or cuda-bindings.

    Args:
        timeout_s: how long ``nvidia-smi`` may take.

    Returns:
        One name per device, or None when no GPU can be seen.
    """
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            done = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                                  text=True, timeout=timeout_s, check=False)
            names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
            if done.returncode == 0 and names:
                return names
        except (OSError, subprocess.SubprocessError):
            pass
    return _cuda_gpu_names()


def _cuda_gpu_names() -> list[str] | None:
    try:
        from cuda.bindings import runtime as cudart
    except Exception:  # not installed, or a broken install: either way no answer
        return None
    try:
        # Ask for the count first: without a GPU it fails cleanly, where TensorRT objects crash the interpreter.
        err, count = cudart.cudaGetDeviceCount()
        if int(err) != 0 or count < 1:
            return None
        names = []
        for device in range(count):
            err, props = cudart.cudaGetDeviceProperties(device)
            if int(err) == 0:
                raw = props.name
                names.append(raw.decode(errors="replace").rstrip("\x00") if isinstance(raw, bytes) else str(raw))
        return names or None
    except Exception:
        return None


@functools.lru_cache(maxsize=1)
def machine_info() -> dict[str, Any]:
    """CPU, GPU and software versions of this machine (computed once).

    Returns:
        ``{"cpu", "cpu_count", "gpu" (first name or None), "gpus", "system",
        "python", "opencv", "numpy"}``.
    """
    gpus = gpu_names()
    info: dict[str, Any] = {
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpu": gpus[0] if gpus else None,
        "gpus": gpus or [],
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
    }
    for module in ("cv2", "numpy"):
        try:
            info["opencv" if module == "cv2" else module] = __import__(module).__version__
        except Exception:
            info["opencv" if module == "cv2" else module] = None
    return info
