"""The model card: what every artifact says about itself (docs/architecture.md, "Model card").

A frozen dataclass serialised as JSON. It travels inside checkpoints (as a
plain dict), in ONNX ``metadata_props`` (key :data:`ONNX_KEY`), inside ``.pt2``
files, and as a ``<engine>.json`` sidecar beside a TensorRT plan
(``swiftnet.plan`` -> ``swiftnet.plan.json``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flame.core.sizes import format_size
from flame.core.errors import CardError

FORMAT_VERSION = 1
ONNX_KEY = "flame.card"
INPUT_LAYOUT = "THWC-uint8-BGR"
OUTPUTS = ("labels", "logits")
PRECISIONS = ("fp32", "fp16", "int8")


def precision_of(fp16: bool = False, int8: bool = False) -> str:
    """The precision an export's options ask for: ``fp16``, ``int8`` or ``fp32``."""
    return "fp16" if fp16 else "int8" if int8 else "fp32"


def precision_tag(precision: str) -> str:
    """The part a precision adds to default artifact names: ``.fp16``, ``.int8``, or nothing for FP32."""
    return "" if precision == "fp32" else f".{precision}"


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to feed an artifact and read its output.

    Attributes:
        architecture: model name for ``flame.trainer.build_model``.
        num_classes: number of classes.
        class_names: one name per class id.
        palette: RGB colour per class.
        window: input frames T (oldest first).
        offset: frame offset k the model was trained for (0 = static).
        fps: frame rate of the training data (the window's frame spacing is 1/fps).
        mean: per-channel RGB mean on the 0..1 scale.
        std: per-channel RGB standard deviation on the 0..1 scale.
        input_size: (H, W) the artifact takes.
        latency_ms: latency the offset was derived from, if any.
        mode: ``static``, ``future``, ``two-frame`` or ``custom``.
        input_layout: always ``THWC-uint8-BGR`` (uint8 [T, H, W, 3] BGR).
        output: ``labels`` (integer [H, W]) or ``logits`` ([C, H, W] float).
        precision: ``fp32``, ``fp16`` or ``int8``.
        backend: ``pytorch`` (checkpoint), ``onnx``, ``torch-export``, ``tensorrt``.
        tensorrt_version, gpu_name, compute_capability: for TensorRT plans.
        extra: free-form provenance (data set, epochs...).
        format_version: card format; unknown versions are refused.
    """

    architecture: str
    num_classes: int
    class_names: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    window: int = 1
    offset: int = 0
    fps: float = 30.0
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    input_size: tuple[int, int] = (512, 1024)
    latency_ms: float | None = None
    mode: str = "static"
    input_layout: str = INPUT_LAYOUT
    output: str = "labels"
    precision: str = "fp32"
    backend: str = "pytorch"
    tensorrt_version: str | None = None
    gpu_name: str | None = None
    compute_capability: str | None = None
    extra: dict = field(default_factory=dict, hash=False, compare=False)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        # Normalise containers so a card read from JSON equals the one written.
        object.__setattr__(self, "class_names", tuple(str(n) for n in self.class_names))
        object.__setattr__(self, "palette", tuple(tuple(int(v) for v in c) for c in self.palette))
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        object.__setattr__(self, "input_size", tuple(int(v) for v in self.input_size))
        self._validate()

    def _validate(self) -> None:
        problems = []
        if self.num_classes < 1 or len(self.class_names) != self.num_classes:
            problems.append(f"{len(self.class_names)} class names for num_classes={self.num_classes}")
        if len(self.palette) != self.num_classes or any(len(c) != 3 for c in self.palette):
            problems.append(f"palette of {len(self.palette)} colours for {self.num_classes} classes")
        if self.window < 1 or self.offset < 0:
            problems.append(f"window={self.window}, offset={self.offset} (need window >= 1, offset >= 0)")
        if not self.fps > 0:
            problems.append(f"fps={self.fps} (need > 0)")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            problems.append("mean/std must be 3 values with std > 0")
        if len(self.input_size) != 2 or min(self.input_size) <= 0:
            problems.append(f"input_size={self.input_size} (need positive H, W)")
        if self.output not in OUTPUTS:
            problems.append(f"output={self.output!r} (need one of {OUTPUTS})")
        if self.precision not in PRECISIONS:
            problems.append(f"precision={self.precision!r} (need one of {PRECISIONS})")
        if self.input_layout != INPUT_LAYOUT:
            problems.append(f"input_layout={self.input_layout!r} (need {INPUT_LAYOUT!r})")
        if problems:
            raise CardError("invalid model card: " + "; ".join(problems))

    # ------------------------------------------------------------ conversion
    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (lists for tuples)."""
        data = dataclasses.asdict(self)
        for key in ("class_names", "mean", "std", "input_size"):
            data[key] = list(data[key])
        data["palette"] = [list(c) for c in self.palette]
        return data

    def to_json(self) -> str:
        """The card as compact JSON."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any, source: str = "model card") -> "ModelCard":
        """Build a card from a dict, refusing unknown format versions.

        Unknown keys (from a newer minor writer) are ignored.

        Raises:
            CardError: on a non-dict, an unknown version, or missing/invalid fields.
        """
        if not isinstance(data, dict):
            raise CardError(f"{source}: expected a JSON object, found {type(data).__name__}")
        version = data.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise CardError(
                f"{source}: card format_version {version!r} is not supported (this FLAME reads "
                f"version {FORMAT_VERSION}); re-export the model with this version of flame-export"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   and f.name not in known]
        if missing:
            raise CardError(f"{source}: model card lacks {', '.join(missing)}")
        try:
            return cls(**known)
        except (TypeError, ValueError) as exc:
            raise CardError(f"{source}: malformed model card ({exc})") from exc

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "model card") -> "ModelCard":
        """Parse a card from JSON text.

        Raises:
            CardError: on invalid JSON or an invalid card.
        """
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CardError(f"{source}: model card is not valid JSON ({exc})") from exc
        return cls.from_dict(data, source)

    def replace(self, **changes: Any) -> "ModelCard":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def summary(self) -> dict[str, Any]:
        """The fields a report shows about the model."""
        keys = ("architecture", "mode", "window", "offset", "fps", "latency_ms", "num_classes", "input_size",
                "output", "precision", "backend", "tensorrt_version", "gpu_name", "compute_capability")
        data = self.to_dict()
        return {k: data[k] for k in keys}


#: Card fields that decide what a model computes per frame, and so its latency on a given machine.
COMPUTE_FIELDS = ("architecture", "window", "input_size", "num_classes")


def _shown(key: str, value: Any) -> str:
    if key == "input_size" and isinstance(value, (list, tuple)) and len(value) == 2:
        return format_size(value)
    return str(value)


def card_differences(first: "ModelCard | dict[str, Any]", second: "ModelCard | dict[str, Any]",
                     fields: tuple[str, ...] = COMPUTE_FIELDS) -> list[tuple[str, str, str]]:
    """The ``fields`` in which two cards (or card dicts, such as a report's summary) differ.

    Args:
        first, second: the cards; a field one of them lacks is not compared.
        fields: which fields to compare.

    Returns:
        ``(field, first's value, second's value)`` per difference, values as shown to users
        (an input size as ``HxW``).
    """
    a = first.to_dict() if isinstance(first, ModelCard) else dict(first)
    b = second.to_dict() if isinstance(second, ModelCard) else dict(second)
    found = []
    for key in fields:
        if key not in a or key not in b:
            continue
        left, right = (list(v) if isinstance(v, (list, tuple)) else v for v in (a[key], b[key]))
        if left != right:
            found.append((key, _shown(key, a[key]), _shown(key, b[key])))
    return found


def sidecar_path(engine_path: str | os.PathLike) -> Path:
    """The card sidecar of an engine file: ``<engine>.json``."""
    path = Path(engine_path)
    return path.with_name(path.name + ".json")


def write_sidecar(engine_path: str | os.PathLike, card: ModelCard) -> Path:
    """Write ``<engine>.json`` atomically; returns its path."""
    from flame.core.files import write_text

    return write_text(sidecar_path(engine_path), json.dumps(card.to_dict(), indent=2, sort_keys=True) + "\n")


def read_card(path: str | os.PathLike) -> ModelCard:
    """Read a card file (the JSON a sidecar holds, or one written by hand; see docs/architecture.md).

    Raises:
        CardError: when the file is missing or is not a valid card.
    """
    path = Path(path)
    if not path.is_file():
        raise CardError(f"model card file {path} does not exist")
    return ModelCard.from_json(path.read_bytes(), str(path))


def read_sidecar(engine_path: str | os.PathLike) -> ModelCard:
    """Read the card beside an engine file.

    Raises:
        CardError: when the sidecar is missing or invalid.
    """
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise CardError(
            f"no model card beside {engine_path}: expected {path} (written by flame-export); "
            "re-export the engine or copy its .json next to it"
        )
    return ModelCard.from_json(path.read_bytes(), str(path))
