"""CUDA through NVIDIA's ``cuda-bindings`` (``cuda.bindings.runtime``): device checks, buffers, a stream.

Used by the TensorRT engine and exporter. ``cuda.bindings.runtime`` is
imported only when a function here is called: each one first calls
:func:`require_bindings` (a one-line :class:`DependencyError` when it is
missing), then imports the module by name, so that mypy checks every call
against the installed cuda-bindings (tests/typecheck). Every call goes through
:func:`check`, which turns a CUDA error code into an :class:`EngineError`.

Why ask ``cudaGetDeviceCount`` first: without a usable GPU, TensorRT objects
crash the interpreter, whereas this call fails cleanly with an error code
(``cudaErrorNoDevice``, ``cudaErrorInsufficientDriver``...).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from flame.core.deps import needs
from flame.core.errors import DependencyError, EngineError

if TYPE_CHECKING:
    from cuda.bindings.runtime import cudaError_t

INSTALL_HINT = "pip install cuda-bindings (or pip install -e '.[tensorrt]')"


def require_bindings() -> None:
    """Check that ``cuda.bindings.runtime`` imports.

    Raises:
        DependencyError: when cuda-bindings is not installed (``from cuda import
            cudart`` is not used: cuda-bindings 13 removed it).
    """
    with needs("the TensorRT backend", "cuda-bindings", INSTALL_HINT):
        from cuda.bindings import runtime  # noqa: F401


def _error_text(err: cudaError_t) -> str:
    from cuda.bindings import runtime as rt

    name = getattr(err, "name", str(err))
    try:
        _, raw = rt.cudaGetErrorString(err)
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
    except Exception:  # the error lookup itself must never mask the original error
        text = ""
    return f"{name} ({text})" if text else name


def check(result: tuple[Any, ...], what: str) -> Any:
    """Unwrap a ``cuda.bindings`` result tuple ``(err, *values)``.

    Returns:
        None, the single value, or a tuple of values.

    Raises:
        EngineError: when ``err`` is not ``cudaSuccess``.
    """
    # The call that produced ``result`` has imported the bindings already: no availability check per call.
    from cuda.bindings import runtime as rt

    err, values = result[0], result[1:]
    if err != rt.cudaError_t.cudaSuccess:
        raise EngineError(f"CUDA call {what} failed: {_error_text(err)}")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


@dataclass(frozen=True)
class DeviceInfo:
    """A CUDA device as the runtime reports it."""

    index: int
    name: str
    compute_capability: str


def device_index(device: str | None) -> int:
    """The CUDA device index of ``cuda``, ``cuda:N`` or None (0).

    Raises:
        EngineError: for any other device string.
    """
    if device in (None, "cuda"):
        return 0
    if device.startswith("cuda:") and device[5:].isdigit():
        return int(device[5:])
    raise EngineError(f"device {device!r} is not a CUDA device; use 'cuda' or 'cuda:N'")


def device_count() -> int:
    """Number of usable CUDA devices.

    Raises:
        DependencyError: when cuda-bindings is missing, or the runtime reports no
            usable device (no GPU, no or too old driver); the message says which.
    """
    require_bindings()
    from cuda.bindings import runtime as rt

    err, count = rt.cudaGetDeviceCount()
    if err != rt.cudaError_t.cudaSuccess:
        raise DependencyError(f"no usable CUDA device (cudaGetDeviceCount: {_error_text(err)}; "
                              "an NVIDIA GPU with its driver is needed)")
    if not count:
        raise DependencyError("no CUDA device found (an NVIDIA GPU with its driver is needed)")
    return int(count)


def require_device(index: int = 0) -> DeviceInfo:
    """Check that CUDA device ``index`` exists, make it current, and describe it.

    Raises:
        DependencyError: when there is no such device (see :func:`device_count`).
    """
    count = device_count()
    if not 0 <= index < count:
        raise DependencyError(f"CUDA device {index} does not exist: this machine has {count}")
    from cuda.bindings import runtime as rt

    check(rt.cudaSetDevice(index), "cudaSetDevice")
    props = check(rt.cudaGetDeviceProperties(index), "cudaGetDeviceProperties")
    name = props.name
    if isinstance(name, bytes):
        name = name.split(b"\0", 1)[0].decode(errors="replace")
    return DeviceInfo(index, str(name).strip(), f"{props.major}.{props.minor}")


class Stream:
    """A CUDA stream (``cudaStreamCreate``), destroyed by :meth:`close`."""

    def __init__(self) -> None:
        require_bindings()
        from cuda.bindings import runtime as rt

        self._rt = rt
        self.handle = check(self._rt.cudaStreamCreate(), "cudaStreamCreate")

    def synchronize(self) -> None:
        """Block until all work queued on the stream is done."""
        check(self._rt.cudaStreamSynchronize(self.handle), "cudaStreamSynchronize")

    def close(self) -> None:
        """Destroy the stream (idempotent)."""
        if self.handle is not None:
            check(self._rt.cudaStreamDestroy(self.handle), "cudaStreamDestroy")
            self.handle = None


class HostBuffer:
    """Pinned (page-locked) host memory viewed as a numpy array.

    Pinned memory lets ``cudaMemcpyAsync`` use DMA without a staging copy.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        require_bindings()
        from cuda.bindings import runtime as rt

        self._rt = rt
        dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(shape)) * dtype.itemsize
        self.ptr = check(self._rt.cudaMallocHost(self.nbytes), "cudaMallocHost")
        raw = (ctypes.c_uint8 * self.nbytes).from_address(int(self.ptr))
        self.array = np.frombuffer(memoryview(raw), dtype=dtype).reshape(shape)

    def close(self) -> None:
        """Free the pinned memory (idempotent); the array must not be used after."""
        if self.ptr is not None:
            # An empty array, so that a stale use fails on its shape instead of touching freed memory.
            self.array = np.empty((0,), dtype=self.array.dtype)
            check(self._rt.cudaFreeHost(self.ptr), "cudaFreeHost")
            self.ptr = None


class DeviceBuffer:
    """Device memory (``cudaMalloc``) with async copies to and from a :class:`HostBuffer`."""

    def __init__(self, nbytes: int) -> None:
        require_bindings()
        from cuda.bindings import runtime as rt

        self._rt = rt
        self.nbytes = int(nbytes)
        self.ptr = check(self._rt.cudaMalloc(self.nbytes), "cudaMalloc")

    def upload(self, host: HostBuffer, stream: Stream) -> None:
        """Queue a host -> device copy of the whole buffer on ``stream``."""
        kind = self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        check(self._rt.cudaMemcpyAsync(self.ptr, host.ptr, self.nbytes, kind, stream.handle), "cudaMemcpyAsync (to device)")

    def download(self, host: HostBuffer, stream: Stream) -> None:
        """Queue a device -> host copy of the whole buffer on ``stream``."""
        kind = self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        check(self._rt.cudaMemcpyAsync(host.ptr, self.ptr, self.nbytes, kind, stream.handle), "cudaMemcpyAsync (to host)")

    def close(self) -> None:
        """Free the device memory (idempotent)."""
        if self.ptr is not None:
            check(self._rt.cudaFree(self.ptr), "cudaFree")
            self.ptr = None


class GraphCapture:
    """A CUDA graph captured from work queued on a stream, replayed with one launch.

    Use :meth:`capture` with a callable that queues the work (for TensorRT,
    ``execute_async_v3``), then :meth:`launch`.
    """

    def __init__(self, stream: Stream, enqueue: Callable[[], None]) -> None:
        require_bindings()
        from cuda.bindings import runtime as rt

        self._rt = rt
        self.stream = stream
        self.graph: Any = None
        self.exec: Any = None
        check(rt.cudaStreamBeginCapture(stream.handle, rt.cudaStreamCaptureMode.cudaStreamCaptureModeGlobal),
              "cudaStreamBeginCapture")
        try:
            enqueue()
        finally:
            # Always end the capture, or the stream stays unusable.
            self.graph = check(rt.cudaStreamEndCapture(stream.handle), "cudaStreamEndCapture")
        self.exec = check(rt.cudaGraphInstantiate(self.graph, 0), "cudaGraphInstantiate")

    def launch(self) -> None:
        """Queue one replay of the graph on its stream."""
        check(self._rt.cudaGraphLaunch(self.exec, self.stream.handle), "cudaGraphLaunch")

    def close(self) -> None:
        """Destroy the executable graph and the graph (idempotent)."""
        if self.exec is not None:
            check(self._rt.cudaGraphExecDestroy(self.exec), "cudaGraphExecDestroy")
            self.exec = None
        if self.graph is not None:
            check(self._rt.cudaGraphDestroy(self.graph), "cudaGraphDestroy")
            self.graph = None
