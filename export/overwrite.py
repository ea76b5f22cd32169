"""Never silently replace an artifact made with other options.

Before an export writes over an existing file, the file's own card is read
(ONNX metadata, the plan's sidecar, the card inside a ``.pt2``) and compared
with the card the new export will carry. The same model and options: the file
is replaced (and the result says so). Other options, or a file that is not a
FLAME artifact: refused, naming the difference, unless ``force``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flame.core.card import ModelCard, card_differences
from flame.core.errors import ConfigError, FlameError, param

#: What an export's options and its checkpoint decide about the artifact.
EXPORT_FIELDS = ("architecture", "mode", "window", "offset", "num_classes", "input_size", "output", "precision")


def existing_card(path: Path, kind: str) -> ModelCard:
    """The card of the artifact at ``path`` (written as engine kind ``kind``).

    Raises:
        FlameError: when the file is not a FLAME artifact of that kind (no card, not loadable).
    """
    if kind == "tensorrt":
        from flame.core.card import read_sidecar

        return read_sidecar(path)
    if kind == "torch":
        from flame.runtime.engines.torch_export import read_program_card

        return read_program_card(path)[1]
    from flame.export.onnx_export import card_of, load_onnx

    return card_of(load_onnx(path, load_external_data=False), str(path))


def _int8_options(card: ModelCard) -> dict[str, Any]:
    """The INT8 options an artifact's card records (``extra["int8"]``), as comparable fields."""
    int8 = card.extra.get("int8") or {}
    return {"int8_target": int8.get("target"), "calibration": int8.get("calibration")}


def check_overwrite(path: Path, kind: str, card: ModelCard, force: bool = False, int8: Any = None) -> str | None:
    """Refuse to replace ``path`` unless it holds an export of the same model with the same options.

    Args:
        path: where the export will write.
        kind: the engine kind written (``onnx``, ``tensorrt``, ``torch``).
        card: the card the new artifact will carry (precision set).
        force: replace whatever is there.
        int8: the export's INT8 job (its target and calibration set are options too), or None.

    Returns:
        A note for the user when an existing file will be replaced, else None.

    Raises:
        ConfigError: when ``path`` exists and holds something else (without ``force``).
    """
    if not path.exists():
        return None
    if force:
        return f"replaced the earlier {path.name} (forced)"
    try:
        old = existing_card(path, kind)
    except FlameError as exc:
        raise ConfigError(f"{path} already exists and is not a FLAME {kind} export this one can compare with "
                          f"({exc}); pass {param('force')} to overwrite it, or choose another {param('out')}") from exc
    new = {**card.to_dict(), "int8_target": getattr(int8, "target", None),
           "calibration": getattr(int8, "calibration", None)}
    differences = card_differences({**old.to_dict(), **_int8_options(old)}, new,
                                   EXPORT_FIELDS + ("int8_target", "calibration"))
    if differences:
        said = "; ".join(f"{key.replace('_', ' ')} {was} there, {now} now" for key, was, now in differences)
        raise ConfigError(f"{path} already holds an export made with other options ({said}); pass {param('force')} "
                          f"to overwrite it, or choose another {param('out')}")
    return f"replaced the earlier {path.name} (same model and options)"
