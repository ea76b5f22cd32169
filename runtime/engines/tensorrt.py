"""TensorRT engine: a serialised plan, named I/O tensors, pinned buffers and a stream.

Works with TensorRT 10 and 11 (the named-tensor API: ``num_io_tensors``,
``get_tensor_name/mode/shape/dtype``, ``set_tensor_address``,
``execute_async_v3``) and CUDA through ``cuda.bindings.runtime``.
The card comes from the ``<plan>.json`` sidecar written by flame-export.

Before any TensorRT object exists, :func:`require_tensorrt` checks that
TensorRT is installed and that a CUDA device answers: without a GPU,
TensorRT objects crash the interpreter instead of raising. ``tensorrt`` is
then imported by name where it is used, so that mypy checks every call
against TensorRT's type stubs (tests/typecheck). Its logger is
:mod:`flame.runtime.engines.tensorrt_logger`, its dtype mapping :mod:`flame.runtime.engines.tensorrt_dtypes`.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from flame.core.deps import installed, needs
from flame.core.errors import DependencyError, EngineError
from flame.runtime.engines import cudart
from flame.runtime.engines.base import Engine, Timing, check_card_fits, now_ms
from flame.runtime.engines.tensorrt_dtypes import numpy_dtype
from flame.runtime.engines.tensorrt_logger import last_error, tensorrt_logger
from flame.core.card import ModelCard, read_sidecar, sidecar_path

if TYPE_CHECKING:
    import tensorrt as trt

INSTALL_HINT = ("pip install -e '.[tensorrt]' (tensorrt and cuda-bindings) on a machine with an NVIDIA GPU "
                "and driver; the tensorrt wheels fetch NVIDIA's libraries from pypi.nvidia.com")

class PlanMismatchWarning(UserWarning):
    """The plan's card names another GPU or TensorRT version than this machine's."""


def _stubs_only(module: str) -> bool:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is None


def missing_for_tensorrt() -> list[str]:
    """What this machine lacks to build or run TensorRT plans, in short phrases (empty when nothing).

    Touches no TensorRT object: TensorRT is looked up without being imported,
    and the device is asked through cuda-bindings.
    """
    problems = []
    if not installed("tensorrt"):
        problems.append("TensorRT is not installed" + (" (only its type stubs are)" if _stubs_only("tensorrt") else ""))
    if not installed("cuda.bindings"):
        problems.append("cuda-bindings is not installed")
    else:
        try:
            cudart.device_count()
        except DependencyError as exc:
            problems.append(str(exc))
    return problems


def require_tensorrt(device: str | None = None) -> cudart.DeviceInfo:
    """Import TensorRT once a CUDA device is known to exist.

    After it returns, ``import tensorrt`` is safe.

    Args:
        device: ``cuda``, ``cuda:N`` or None (device 0).

    Returns:
        The device info; the device is made current.

    Raises:
        DependencyError: one line naming everything missing (TensorRT, cuda-bindings,
            a GPU) and how to install it, before any TensorRT object is created.
    """
    index = cudart.device_index(device)
    problems = missing_for_tensorrt()
    if problems:
        hint = f"; install: {INSTALL_HINT}" if any("not installed" in p for p in problems) else ""
        raise DependencyError("TensorRT cannot run here: " + "; ".join(problems) + hint)
    info = cudart.require_device(index)
    # Found installed above, it can still fail to load (missing or broken shared libraries).
    with needs("the TensorRT backend", "TensorRT", INSTALL_HINT):
        import tensorrt  # noqa: F401
    return info


def plan_mismatches(card: ModelCard, tensorrt_version: str, info: cudart.DeviceInfo) -> list[str]:
    """How the plan's card differs from this machine (TensorRT version, GPU), empty if it does not."""
    found = []
    if card.tensorrt_version and card.tensorrt_version != tensorrt_version:
        found.append(f"built with TensorRT {card.tensorrt_version}, this machine has {tensorrt_version}")
    if card.gpu_name and card.gpu_name != info.name:
        found.append(f"built on {card.gpu_name}, this machine has {info.name}")
    elif card.compute_capability and card.compute_capability != info.compute_capability:
        found.append(f"built for compute capability {card.compute_capability}, this GPU is {info.compute_capability}")
    return found


def _shape(dims: trt.Dims) -> tuple[int, ...]:
    # Dims is a sequence by __len__/__getitem__ (no __iter__ in its type).
    return tuple(int(dims[i]) for i in range(len(dims)))


class TensorRTEngine(Engine):
    """Runs a FLAME TensorRT plan (``.plan``/``.engine`` with its ``.json`` sidecar).

    Args:
        path: the plan file.
        device: ``cuda`` or ``cuda:N`` (default device 0).
        cuda_graph: capture the inference once as a CUDA graph and replay it
            (less launch overhead per call; falls back with a warning when capture fails).
        card: the card to run it with instead of the sidecar (a plan built with trtexec from a
            wrapped ONNX, a plan whose sidecar is lost); checked against the plan's tensors.

    Raises:
        DependencyError: without TensorRT, cuda-bindings or a CUDA device.
        CardError: when the sidecar is missing or invalid and no card is given, or the card does
            not fit the plan's tensors.
        EngineError: when the plan cannot be deserialised here.
    """

    backend = "tensorrt"

    def __init__(self, path: str | os.PathLike, device: str | None = None, cuda_graph: bool = False,
                 card: ModelCard | None = None) -> None:
        path = Path(path)
        info = require_tensorrt(device)
        import tensorrt as trt

        self._card_source = "the given card" if card is not None else f"the sidecar {sidecar_path(path).name}"
        card = card if card is not None else read_sidecar(path)
        super().__init__(path, card, f"cuda:{info.index}")
        self.device_info = info
        self.tensorrt_version = str(trt.__version__)
        self._graph: cudart.GraphCapture | None = None
        self._context: trt.IExecutionContext | None = None
        self._engine: trt.ICudaEngine | None = None
        self._runtime: trt.Runtime | None = None
        self._buffers: list[cudart.HostBuffer | cudart.DeviceBuffer] = []
        self._stream: cudart.Stream | None = None
        mismatches = plan_mismatches(card, self.tensorrt_version, info)
        if mismatches:
            warnings.warn(f"{path.name}: " + "; ".join(mismatches) + " (rebuild it here with flame-export "
                          "--format tensorrt if it fails to load or runs slowly)", PlanMismatchWarning, stacklevel=2)
        try:
            self._load(path, mismatches)
            if cuda_graph:
                self._capture_graph()
        except BaseException:
            self._release()
            raise

    def _load(self, path: Path, mismatches: list[str]) -> None:
        import tensorrt as trt

        logger = tensorrt_logger()
        last_error()  # forget errors of earlier objects
        self._runtime = trt.Runtime(logger)
        engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if engine is None:
            why = "; ".join(mismatches) or "the file is not a TensorRT plan, or was built by another TensorRT version or GPU"
            said = last_error()
            raise EngineError(f"TensorRT cannot deserialise {path} ({why}{'; TensorRT says: ' + said if said else ''}); "
                              "rebuild it on this machine with flame-export --format tensorrt")
        self._engine = engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or len(outputs) != 1:
            raise EngineError(f"{path.name} has inputs {inputs} and outputs {outputs}; a FLAME plan has one of each")
        self.input_name, self.output_name = inputs[0], outputs[0]
        in_shape, out_shape = _shape(engine.get_tensor_shape(self.input_name)), _shape(engine.get_tensor_shape(self.output_name))
        in_dtype = numpy_dtype(trt.nptype, engine.get_tensor_dtype(self.input_name))
        out_dtype = numpy_dtype(trt.nptype, engine.get_tensor_dtype(self.output_name))
        check_card_fits(self.card, in_shape, in_dtype, out_shape, out_dtype, path.name, self._card_source)

        context = engine.create_execution_context()
        if context is None:
            raise EngineError(f"TensorRT could not create an execution context for {path.name} (out of GPU memory?)")
        self._context = context
        self._stream = cudart.Stream()
        self._host_in = cudart.HostBuffer(in_shape, in_dtype)
        self._host_out = cudart.HostBuffer(out_shape, out_dtype)
        self._buffers += [self._host_in, self._host_out]
        self._dev_in = cudart.DeviceBuffer(self._host_in.nbytes)
        self._dev_out = cudart.DeviceBuffer(self._host_out.nbytes)
        self._buffers += [self._dev_in, self._dev_out]
        for name, buffer in ((self.input_name, self._dev_in), (self.output_name, self._dev_out)):
            if not context.set_tensor_address(name, int(buffer.ptr)):
                raise EngineError(f"TensorRT refused the device address of tensor {name!r}")

    def _enqueue(self) -> None:
        if self._context is None or self._stream is None:
            raise EngineError(f"{self.path.name}: the engine is closed")
        if not self._context.execute_async_v3(int(self._stream.handle)):
            said = last_error()
            raise EngineError(f"TensorRT execute_async_v3 failed on {self.path.name}" + (f": {said}" if said else ""))

    def _capture_graph(self) -> None:
        # One plain run first: TensorRT defers some work to the first enqueue,
        # which must not end up inside the captured graph.
        stream = self._live_stream()
        self._enqueue()
        stream.synchronize()
        try:
            self._graph = cudart.GraphCapture(stream, self._enqueue)
        except EngineError as exc:
            self._graph = None
            warnings.warn(f"CUDA graph capture failed, running without it: {exc}", RuntimeWarning, stacklevel=3)

    @property
    def uses_cuda_graph(self) -> bool:
        """Whether calls replay a captured CUDA graph."""
        return self._graph is not None

    def _live_stream(self) -> cudart.Stream:
        if self._stream is None:
            raise EngineError(f"{self.path.name}: the engine is closed")
        return self._stream

    def _infer(self, frames: np.ndarray, timing: Timing) -> np.ndarray:
        stream = self._live_stream()
        start = now_ms()
        np.copyto(self._host_in.array, frames)
        mark = now_ms()
        timing.prepare_ms = mark - start
        self._dev_in.upload(self._host_in, stream)
        stream.synchronize()
        timing.copy_in_ms = now_ms() - mark
        mark = now_ms()
        if self._graph is not None:
            self._graph.launch()
        else:
            self._enqueue()
        stream.synchronize()
        timing.compute_ms = now_ms() - mark
        mark = now_ms()
        self._dev_out.download(self._host_out, stream)
        stream.synchronize()
        # A copy: the pinned buffer is overwritten by the next call.
        labels = self._host_out.array.copy()
        timing.copy_out_ms = now_ms() - mark
        return labels

    def _release(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None
        # TensorRT objects go before the memory they point into (context, engine, runtime).
        self._context = None
        self._engine = None
        self._runtime = None
        for buffer in self._buffers:
            buffer.close()
        self._buffers = []
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def describe(self) -> dict:
        return {**super().describe(), "tensorrt_version": self.tensorrt_version, "gpu": self.device_info.name,
                "cuda_graph": self.uses_cuda_graph}
