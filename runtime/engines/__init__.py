"""Engines: one contract, a backend per artifact kind, chosen by file suffix.

:data:`ENGINE_KINDS` is the registry of artifact kinds: ``.plan``/``.engine``
-> TensorRT, ``.onnx`` -> ONNX Runtime, ``.pt2`` -> torch.export program. The
export side (``flame.export.formats``) names these kinds instead of repeating
their suffixes. Each backend imports its library only when used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from flame.core.card import ModelCard, read_card
from flame.core.errors import CardError, EngineError
from flame.runtime.engines.base import Engine, Timing, check_card_fits

__all__ = ["ENGINE_KINDS", "Engine", "EngineKind", "SUFFIXES", "Timing", "describe_kinds", "engine_kind",
           "load_engine", "tuning_options"]


def _onnxruntime(path: Path, device: str | None, **options: Any) -> Engine:
    from flame.runtime.engines.onnxrt import OnnxRuntimeEngine

    return OnnxRuntimeEngine(path, device=device, **options)


def _tensorrt(path: Path, device: str | None, **options: Any) -> Engine:
    from flame.runtime.engines.tensorrt import TensorRTEngine

    return TensorRTEngine(path, device=device, **options)


def _torch_export(path: Path, device: str | None, **options: Any) -> Engine:
    from flame.runtime.engines.torch_export import TorchExportEngine

    return TorchExportEngine(path, device=device, **options)


@dataclass(frozen=True)
class EngineKind:
    """One kind of engine file.

    Attributes:
        name: the registry key (also ``flame-export --format``).
        suffixes: file suffixes of the kind, the first the one written by default.
        runner: what runs it, for help texts.
        load: ``(path, device, **options) -> Engine``; imports the backend's library when called.
        tuning: the backend options a command may pass to every engine of the kind (``threads``).
    """

    name: str
    suffixes: tuple[str, ...]
    runner: str
    load: Callable[..., Engine]
    tuning: tuple[str, ...] = ()

    @property
    def suffix(self) -> str:
        """The suffix an export of this kind is named with by default."""
        return self.suffixes[0]


ENGINE_KINDS: dict[str, EngineKind] = {k.name: k for k in (
    EngineKind("onnx", (".onnx",), "ONNX Runtime", _onnxruntime, tuning=("threads",)),
    EngineKind("tensorrt", (".plan", ".engine"), "TensorRT", _tensorrt),
    EngineKind("torch", (".pt2",), "torch.export", _torch_export),
)}
#: Suffix -> engine kind name.
SUFFIXES: dict[str, str] = {suffix: kind.name for kind in ENGINE_KINDS.values() for suffix in kind.suffixes}


def engine_kind(path: str | os.PathLike) -> EngineKind | None:
    """The kind a file's suffix names, or None."""
    name = SUFFIXES.get(Path(path).suffix.lower())
    return None if name is None else ENGINE_KINDS[name]


def tuning_options(path: str | os.PathLike, **options: Any) -> dict[str, Any]:
    """The options the kind of ``path`` takes (:attr:`EngineKind.tuning`), unset (None) ones left out.

    A command passes its tuning options (``threads``) for any engine file; only the
    backends that take them get them.
    """
    kind = engine_kind(path)
    return {name: value for name, value in options.items()
            if value is not None and kind is not None and name in kind.tuning}


def describe_kinds() -> str:
    """``.onnx (ONNX Runtime), .plan/.engine (TensorRT), ...`` for help texts."""
    return ", ".join(f"{'/'.join(k.suffixes)} ({k.runner})" for k in ENGINE_KINDS.values())


def load_engine(path: str | os.PathLike, device: str | None = None,
                card: ModelCard | str | os.PathLike | None = None, **options: Any) -> Engine:
    """Load an engine file with the backend its suffix names.

    Args:
        path: a file of a kind in :data:`ENGINE_KINDS` (``.onnx``, ``.plan``/``.engine``, ``.pt2``).
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
    kind = engine_kind(path)
    if kind is None:
        raise EngineError(f"cannot tell the engine kind of {path.name}: expected one of {', '.join(SUFFIXES)}")
    given = card if card is None or isinstance(card, ModelCard) else read_card(card)
    engine = kind.load(path, device, card=given, **options)
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
