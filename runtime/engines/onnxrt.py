"""ONNX Runtime engine: the CPU engine, and CUDA/TensorRT through its providers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from flame.core.deps import needs
from flame.core.errors import CardError, EngineError, first_line
from flame.runtime.engines.base import Engine, Timing, check_card_fits, now_ms
from flame.core.card import ONNX_KEY, ModelCard

#: Preferred order when the caller does not choose.
PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")

#: ONNX Runtime graph transformers every FLAME session turns off (ONNX Runtime ignores unknown names, so
#: ``tests/runtime/test_onnxrt_session.py`` checks the effect). ``QDQPropagationTransformer`` moves a
#: QuantizeLinear backward over MaxPool, Reshape, Transpose and Slice: in an INT8 export it moves the first
#: quantisation from the stem's pooled output (where the quantiser puts it: the first convolution stays float,
#: and so does what it feeds) to the full-size output of the first convolution, into a uint8 max pool that
#: ONNX Runtime runs in NCHW, about 10x slower than
#: its blocked float pool (SwiftNet-R18 at 512x1024, 2 threads: 21 ms against 2 ms, a fifth of the INT8 graph's
#: time). Graphs without Q/DQ nodes are not affected.
DISABLED_OPTIMIZERS = ("QDQPropagationTransformer",)


def import_ort() -> Any:
    """The onnxruntime module, or a DependencyError saying how to install it."""
    with needs("the .onnx engine", "ONNX Runtime", "pip install onnxruntime (or onnxruntime-gpu)"):
        import onnxruntime
    return onnxruntime


def choose_providers(available: Sequence[str], requested: Sequence[str] | None = None,
                     device: str | None = None) -> list[str]:
    """Providers to use: the requested ones, else TensorRT, CUDA, CPU as available.

    ``device='cpu'`` keeps only the CPU provider.

    Raises:
        EngineError: when a requested provider is not available.
    """
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            raise EngineError(f"ONNX Runtime providers {missing} are not available here; available: {list(available)}")
        return list(requested)
    if device == "cpu":
        return ["CPUExecutionProvider"]
    return [p for p in PROVIDER_ORDER if p in available] or list(available)


def open_session(ort: Any, model: str | bytes, providers: Sequence[str], threads: int = 0, **options: Any) -> Any:
    """An ONNX Runtime session as FLAME runs graphs: every optimisation but :data:`DISABLED_OPTIMIZERS`.

    Args:
        ort: the onnxruntime module.
        model: a path or the serialised graph.
        providers: execution providers, in order.
        threads: intra-op threads (0 = ONNX Runtime's default).
        options: further ``SessionOptions`` attributes (``optimized_model_filepath``, say).
    """
    settings = ort.SessionOptions()
    settings.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    settings.log_severity_level = 3
    if threads:
        settings.intra_op_num_threads = int(threads)
    for name, value in options.items():
        setattr(settings, name, value)
    return ort.InferenceSession(model, sess_options=settings, providers=list(providers),
                                disabled_optimizers=list(DISABLED_OPTIMIZERS))


def _dims(shape: Sequence) -> tuple:
    """ONNX Runtime's declared dims: ints stay, symbolic names and None mean unknown."""
    return tuple(d if isinstance(d, int) else None for d in shape)


def _numpy_type(onnx_type: str) -> np.dtype:
    """``tensor(uint8)`` -> ``uint8`` (``float`` is float32, ``double`` float64)."""
    name = onnx_type.removeprefix("tensor(").removesuffix(")")
    return np.dtype({"float": "float32", "double": "float64"}.get(name, name))


class OnnxRuntimeEngine(Engine):
    """Runs a FLAME ONNX export with ONNX Runtime.

    Args:
        path: the ``.onnx`` file.
        device: ``cpu`` to force the CPU provider; None picks the best available.
        providers: explicit provider list.
        threads: intra-op threads (0 = ONNX Runtime's default).
        card: the card to run it with, for a file that carries none (or to replace its own);
            checked against the graph's input and output tensors.

    Raises:
        EngineError: when the file is missing or not an ONNX model.
        CardError: when it carries no FLAME model card and none is given, or the given one does not fit.
    """

    backend = "onnxruntime"

    def __init__(self, path: str | os.PathLike, device: str | None = None,
                 providers: Sequence[str] | None = None, threads: int = 0, card: ModelCard | None = None) -> None:
        ort = import_ort()
        path = Path(path)
        chosen = choose_providers(ort.get_available_providers(), providers, device)
        try:
            session = open_session(ort, str(path), chosen, threads)
        except Exception as exc:  # ORT raises its own pybind exception types
            raise EngineError(f"{path} is not a loadable ONNX model ({first_line(exc)})") from exc
        meta = session.get_modelmeta().custom_metadata_map
        if card is None:
            if ONNX_KEY not in meta:
                raise CardError(f"{path} carries no FLAME model card (metadata '{ONNX_KEY}'): export it with "
                                "flame-export (a foreign model: flame-export MODEL.onnx), or give its card")
            card = ModelCard.from_json(meta[ONNX_KEY], str(path))
        else:
            (tensor_in,), tensor_out = session.get_inputs()[:1], session.get_outputs()[0]
            check_card_fits(card, _dims(tensor_in.shape), _numpy_type(tensor_in.type), _dims(tensor_out.shape),
                            _numpy_type(tensor_out.type), path.name, "the given card")
        used = session.get_providers()
        super().__init__(path, card, "cpu" if used[0] == "CPUExecutionProvider" else "cuda")
        self.session = session
        self.providers = used
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name

    def _infer(self, frames: np.ndarray, timing: Timing) -> np.ndarray:
        start = now_ms()
        try:
            (output,) = self.session.run([self._output], {self._input: frames})
        except Exception as exc:
            raise EngineError(f"ONNX Runtime failed on {self.path.name}: {first_line(exc)}") from exc
        timing.compute_ms = now_ms() - start
        return output

    def _release(self) -> None:
        self.session = None

    def describe(self) -> dict:
        return {**super().describe(), "providers": self.providers}
