"""Engines: one contract, a backend per artifact kind, chosen by file suffix.

``.plan``/``.engine`` -> TensorRT, ``.onnx`` -> ONNX Runtime, ``.pt2`` ->
torch.export program. Each backend imports its library only when used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from flame.core.card import ModelCard, read_card
from flame.core.errors import CardError, EngineError
from flame.runtime.engines.base import Engine, Timing, check_card_fits

__all__ = ["Engine", "Timing", "load_engine", "SUFFIXES"]

SUFFIXES = {".onnx": "onnx", ".plan": "tensorrt", ".engine": "tensorrt", ".pt2": "torch"}


def load_engine(path: str | os.PathLike, device: str | None = None,
                card: ModelCard | str | os.PathLike | None = None, **options: Any) -> Engine:
    """Load an engine file with the backend its suffix names.

    Args:
        path: ``.onnx``, ``.plan``/``.engine`` or ``.pt2`` file.
        device: ``cpu`` or ``cuda`` (backend default when None).
        card: a model card (or the path of a card JSON file) for an engine that carries none,
            such as a plan built with trtexec; it replaces the engine's own. It is checked
            against the engine's tensors and by one dry run on blank frames.
        **options: backend options (``threads``, ``providers``, ``cuda_graph``...).

    Raises:
        EngineError: on a missing file or an unknown suffix.
        CardError: when the engine has no card and none is given, or the given one does not fit.
        DependencyError: when the backend's library is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"engine file {path} does not exist")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise EngineError(f"cannot tell the engine kind of {path.name}: expected one of {', '.join(SUFFIXES)}")
    given = card if card is None or isinstance(card, ModelCard) else read_card(card)
    if kind == "onnx":
        from flame.runtime.engines.onnxrt import OnnxRuntimeEngine as backend
    elif kind == "tensorrt":
        from flame.runtime.engines.tensorrt import TensorRTEngine as backend  # type: ignore[assignment]
    else:
        from flame.runtime.engines.torch_export import TorchExportEngine as backend  # type: ignore[assignment]
    engine = backend(path, device=device, card=given, **options)
    if given is not None:
        try:
            _dry_run(engine, "the given card" if isinstance(card, ModelCard) else f"the card {card}")
        except BaseException:
            engine.close()
            raise
    return engine


def _dry_run(engine: Engine, card_source: str) -> None:
    """One call on blank frames of the card's shape: the engine must accept them and return what the card says."""
    frames = np.zeros(engine.input_shape, np.uint8)
    try:
        result = np.asarray(engine.raw(frames))  # what the artifact returns, before any host argmax
    except EngineError as exc:
        raise CardError(f"{card_source} does not fit {engine.path.name}: blank frames "
                        f"{list(engine.input_shape)} fail ({exc})") from exc
    check_card_fits(engine.card, engine.input_shape, np.uint8, result.shape, result.dtype, engine.path.name,
                    card_source)
