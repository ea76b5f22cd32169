"""ONNX export of the deploy wrapper: static shapes, opset 18, the model card in ``metadata_props``."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Iterator

from flame.core.deps import needs
from flame.core.errors import CardError, EngineError, first_line
from flame.core.files import atomic_path
from flame.core.card import ONNX_KEY, ModelCard

#: Opset of every export (>= 17 is needed for the ops we use; 18 is what torch's exporter targets).
OPSET = 18
INPUT_NAME = "frames"


#: How to install what ONNX export needs.
ONNX_INSTALL = "pip install onnx onnxscript (or pip install -e '.[train]')"


def _import_onnx() -> Any:
    with needs("ONNX export", "onnx and onnxscript", ONNX_INSTALL):
        import onnx
    return onnx


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence the exporter's chatter (missing torchvision ops, deprecation notices) for one export."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def to_onnx(source: Any, card: ModelCard, opset: int = OPSET) -> Any:
    """Export a deploy wrapper (or its ``torch.export`` program) to an ONNX model.

    Args:
        source: a :class:`flame.trainer.deploy.DeployWrapper` or an ``ExportedProgram`` of one.
        card: the card of the artifact (its ``window``, ``input_size`` and ``output`` give the shapes).
        opset: ONNX opset (>= 17).

    Returns:
        An ``onnx.ModelProto`` with static shapes, input ``frames`` uint8 ``[T, H, W, 3]``
        and output named after ``card.output``, with the card in its metadata.

    Raises:
        DependencyError: when onnx/onnxscript are missing.
        EngineError: when the exporter fails.
    """
    import torch

    with needs("ONNX export", "onnx and onnxscript", ONNX_INSTALL):
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401  (torch.onnx.export imports it; checked before a slow trace)
    if opset < 17:
        raise EngineError(f"opset {opset} is too old: FLAME exports need opset >= 17")
    from flame.export.program import device_of, example_frames

    # The example input sits with the weights (a model on a GPU is exported from there).
    example = example_frames(card, device_of(source))
    try:
        with quiet_exporter():
            program = torch.onnx.export(source, (example,), None, opset_version=opset, dynamo=True,
                                        input_names=[INPUT_NAME], output_names=[card.output], verbose=False)
    except Exception as exc:  # the exporter raises many types; they all mean "could not export"
        raise EngineError(f"ONNX export of {card.architecture} failed: {first_line(exc)}") from exc
    model = program.model_proto
    set_card(model, card)
    return model


def set_card(model: Any, card: ModelCard) -> None:
    """Store the card in the model's ``metadata_props`` (replacing an earlier one)."""
    props = [p for p in model.metadata_props if p.key != ONNX_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(props)
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_KEY, card.to_json()


def card_of(model: Any, source: str = "ONNX model") -> ModelCard:
    """The card in an ONNX model's ``metadata_props``.

    Raises:
        CardError: when there is none or it is invalid.
    """
    for prop in model.metadata_props:
        if prop.key == ONNX_KEY:
            return ModelCard.from_json(prop.value, source)
    raise CardError(f"{source} carries no FLAME model card (metadata '{ONNX_KEY}'); export it with flame-export")


def save_onnx(model: Any, path: str | os.PathLike) -> Path:
    """Check the model and write it atomically.

    Raises:
        EngineError: when the ONNX checker rejects the model.
    """
    onnx = _import_onnx()
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise EngineError(f"the exported ONNX model is invalid: {first_line(exc)}") from exc
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    return Path(path)


def load_onnx(path: str | os.PathLike, load_external_data: bool = True) -> Any:
    """Read an ONNX model file (``load_external_data=False``: the graph and metadata only).

    Raises:
        EngineError: when the file is missing or not an ONNX model.
    """
    onnx = _import_onnx()
    path = Path(path)
    if not path.is_file():
        raise EngineError(f"ONNX file {path} does not exist")
    try:
        return onnx.load(str(path), load_external_data=load_external_data)
    except Exception as exc:  # DecodeError and friends
        raise EngineError(f"{path} is not an ONNX model ({type(exc).__name__})") from exc
