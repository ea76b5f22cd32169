"""Never silently replace an artifact made with other options.

Before an export writes over an existing file, the file's own card is read
(ONNX metadata, the plan's sidecar, the card inside a ``.pt2``) and compared
with the card the new export will carry. The same model and options: the file
is replaced (and the result says so). Other options, or a file that is not a
FLAME artifact: refused, naming the difference, unless ``force``.
"""

from __future__ import annotations

from pathlib import Path

from flame.core.card import ModelCard, card_differences
from flame.core.errors import ConfigError, FlameError, first_line

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
    import onnx

    from flame.export.onnx_export import card_of

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # DecodeError and friends: not an ONNX file
        raise ConfigError(f"it is not an ONNX model ({first_line(exc, 120, typed=True)})") from exc
    return card_of(model, str(path))


def check_overwrite(path: Path, kind: str, card: ModelCard, force: bool = False) -> str | None:
    """Refuse to replace ``path`` unless it holds an export of the same model with the same options.

    Args:
        path: where the export will write.
        kind: the engine kind written (``onnx``, ``tensorrt``, ``torch``).
        card: the card the new artifact will carry (precision set).
        force: replace whatever is there.

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
                          f"({exc}); pass {{force}} to overwrite it, or choose another {{out}}") from exc
    differences = card_differences(old, card, EXPORT_FIELDS)
    if differences:
        said = "; ".join(f"{key.replace('_', ' ')} {was} there, {now} now" for key, was, now in differences)
        raise ConfigError(f"{path} already holds an export made with other options ({said}); pass {{force}} "
                          "to overwrite it, or choose another {out}")
    return f"replaced the earlier {path.name} (same model and options)"
