"""Training options: what the user asked (:class:`TrainOptions`) and the resolved run (:class:`TrainConfig`).

Modes (paper section 5): ``static`` trains I_t -> S_t (window 1, offset 0),
``future`` I_t -> S_{t+k} (1, k) and ``two-frame`` (I_{t-1}, I_t) -> S_{t+k}
(2, k); k comes from ``offset`` or from ``latency_ms`` and the data set's fps.
A static model given a latency or offset is still trained on S_t; the offset
then only says where validation FLAME is measured (the paper's first experiment).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from typing import Any

from flame.core.errors import CheckpointError, ConfigError, param
from flame.core.sizes import format_size
from flame.core.offsets import frame_offset
from flame.evaluation.datasets.base import SequenceDataset
from flame.trainer.architectures import preset_for
from flame.trainer.blocks import STRIDE
from flame.trainer.options import MODES, TrainOptions, check_options
from flame.trainer.presets import Recipe

__all__ = ["MODES", "TrainConfig", "TrainOptions", "check_fresh_options", "check_options", "default_input_size",
           "merge_resume", "resolve_config", "resolve_offsets"]



@dataclass(frozen=True)
class TrainConfig:
    """A fully resolved training run, stored in every checkpoint as ``config``.

    ``offset`` is the trained offset (target S_j from frames ending at
    j - offset); ``eval_offset`` the offset validation FLAME is measured at.
    ``recipe`` is the optimiser, schedule and data settings trained with (the
    family's preset with the user's overrides). ``device`` is ``auto`` or a
    torch device string; ``amp`` None means "on when training on CUDA".
    """

    model: str
    mode: str
    window: int
    offset: int
    eval_offset: int
    latency_ms: float | None
    fps: float
    dataset: str
    data_root: str | None
    size: tuple[int, int] | None
    input_size: tuple[int, int]
    iters_per_epoch: int | None
    recipe: Recipe
    seed: int
    pretrained: str | None
    workers: int
    device: str
    amp: bool | None
    max_val_sequences: int | None
    # Added with footage training; absent from older checkpoints (read as None).
    teacher: str | None = None
    topic: str | None = None
    footage_fps: float | None = None
    init: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain python types only (lists for sizes), loadable with ``weights_only=True``.

        The dict is flat, the recipe's fields beside the others: the format
        of every checkpoint written so far, so old and new ones read alike.
        """
        data = dataclasses.asdict(self)
        data.update(data.pop("recipe"))
        for key in ("size", "crop", "input_size"):
            if data[key] is not None:
                data[key] = list(data[key])
        for key in OPTIONAL_FIELDS:  # only footage runs have them: other checkpoints stay as they were
            if data[key] is None:
                del data[key]
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str = "checkpoint") -> "TrainConfig":
        """Rebuild a config stored by :meth:`to_dict`.

        Raises:
            CheckpointError: when fields are missing or malformed.
        """
        if not isinstance(data, dict):
            raise CheckpointError(f"{source} has no training config (found {type(data).__name__}); it was not "
                                  "written by flame-train")
        recipe_names = [f.name for f in fields(Recipe)]
        names = [f.name for f in fields(cls) if f.name != "recipe"] + recipe_names
        missing = [n for n in names if n not in data and n not in OPTIONAL_FIELDS]
        if missing:
            raise CheckpointError(f"{source}: training config lacks {', '.join(missing)}")
        values = {n: data.get(n) for n in names}
        for key in ("size", "crop", "input_size"):
            if values[key] is not None:
                values[key] = tuple(int(v) for v in values[key])
        recipe = Recipe(**{n: values.pop(n) for n in recipe_names})
        return cls(recipe=recipe, **values)


#: Config fields a checkpoint may lack (added after the first checkpoints were written).
OPTIONAL_FIELDS = ("teacher", "topic", "footage_fps", "init")

#: Options that may differ when resuming (they do not change what is trained).
RUNTIME_FIELDS = ("workers", "device", "amp", "max_val_sequences")


def resolve_offsets(mode: str, window: int | None, offset: int | None, latency_ms: float | None,
                    fps: float) -> tuple[int, int, int, str]:
    """(window, trained offset, validation offset, card mode) of a mode and its options.

    Raises:
        ConfigError: when future/two-frame lacks an offset, or offset and
            latency disagree.
    """
    k = offset
    if latency_ms is not None:
        from_latency = frame_offset(latency_ms / 1000.0, fps)
        if offset is not None and offset != from_latency:
            raise ConfigError(
                f"{param('offset')} {offset} disagrees with {param('latency_ms')} {latency_ms:g} at {fps:g} fps "
                f"(k = ceil(latency*fps) = {from_latency}); give one of them"
            )
        k = from_latency
    if mode != "static" and k is None:
        raise ConfigError(
            f"{param('mode')} {mode} needs {param('offset')} K or {param('latency_ms')} L (the network's latency; k = ceil(L*fps/1000))"
        )
    window = window if window is not None else MODES[mode]
    trained = 0 if mode == "static" else int(k)
    card_mode = mode if window == MODES[mode] else "custom"
    return window, trained, int(k or 0), card_mode


def default_input_size(frame_size: tuple[int, int]) -> tuple[int, int]:
    """A frame size rounded to the nearest multiples of 32 (at least 32)."""
    return tuple(max(STRIDE, int(round(side / STRIDE)) * STRIDE) for side in frame_size)  # type: ignore[return-value]


def check_fresh_options(options: TrainOptions) -> Recipe:
    """Check the options of a new run (not a resume) before any data is read; returns the model's preset.

    Raises:
        ConfigError: on a missing model, unknown names, or inconsistent values.
    """
    check_options(options)
    if options.model is None:
        raise ConfigError(f"{param('model')} is required (or {param('resume')} to continue a run in {param('out')})")
    return preset_for(options.model)


def resolve_config(options: TrainOptions, train_set: SequenceDataset, frame_size: tuple[int, int]) -> TrainConfig:
    """Fill every option the user left out from the paper's preset and the data set.

    Args:
        options: the user's options (``model`` required).
        train_set: the training sequences (fps).
        frame_size: (H, W) of the validation frames (default input size).

    Raises:
        ConfigError: on a missing model, unknown names, or inconsistent values.
    """
    preset = check_fresh_options(options)
    mode = options.mode or "static"
    window, offset, eval_offset, card_mode = resolve_offsets(
        mode, options.window, options.offset, options.latency_ms, train_set.fps)
    input_size = options.input_size or default_input_size(frame_size)
    crop = options.crop or (min(preset.crop[0], input_size[0]), min(preset.crop[1], input_size[1]))
    batch_size = options.batch_size or preset.batch_size
    if batch_size < 2 and preset.optimizer == "sgd":
        raise ConfigError(f"DeepLabV3+ needs {param('batch_size')} >= 2: its image-pooling BatchNorm sees one value "
                          "per channel and sample")
    lr = options.lr if options.lr is not None else preset.lr
    if options.encoder_lr is not None:
        encoder_lr = options.encoder_lr
    elif options.pretrained:
        # The smaller rate protects ImageNet features; from scratch the encoder learns like the rest.
        encoder_lr = preset.encoder_lr * (lr / preset.lr)
    else:
        encoder_lr = lr
    recipe = dataclasses.replace(
        preset, crop=tuple(crop), batch_size=batch_size, lr=lr, encoder_lr=encoder_lr,
        weight_decay=options.weight_decay if options.weight_decay is not None else preset.weight_decay,
        epochs=options.epochs or preset.epochs)
    return TrainConfig(
        model=options.model, mode=card_mode, window=window, offset=offset, eval_offset=eval_offset,
        latency_ms=options.latency_ms, fps=float(train_set.fps), dataset=options.dataset or "synthetic",
        data_root=absolute(options.data_root), size=options.size, input_size=tuple(input_size),
        iters_per_epoch=options.iters_per_epoch, recipe=recipe, seed=options.seed if options.seed is not None else 0,
        pretrained=absolute(options.pretrained),
        workers=options.workers if options.workers is not None else min(4, os.cpu_count() or 1),
        device=options.device or "auto", amp=options.amp, max_val_sequences=options.max_val_sequences,
        teacher=absolute(options.teacher), topic=options.topic, footage_fps=options.fps, init=absolute(options.init),
    )


def merge_resume(stored: TrainConfig, options: TrainOptions, source: str) -> TrainConfig:
    """The stored run, with the runtime options (workers, device, amp, validation cap) the user changed.

    Options left out take the stored values; given ones that define the
    model or its training must equal them.

    Raises:
        CheckpointError: when such an option differs from the stored run.
    """
    check_options(options)
    recipe = stored.recipe
    compare = [
        ("model", options.model, stored.model), ("window", options.window, stored.window),
        ("offset", options.offset, stored.eval_offset), ("latency_ms", options.latency_ms, stored.latency_ms),
        ("dataset", options.dataset, stored.dataset), ("size", options.size, stored.size),
        ("crop", options.crop, recipe.crop), ("input_size", options.input_size, stored.input_size),
        ("epochs", options.epochs, recipe.epochs), ("iters_per_epoch", options.iters_per_epoch, stored.iters_per_epoch),
        ("batch_size", options.batch_size, recipe.batch_size), ("lr", options.lr, recipe.lr),
        ("encoder_lr", options.encoder_lr, recipe.encoder_lr), ("weight_decay", options.weight_decay, recipe.weight_decay),
        ("seed", options.seed, stored.seed),
    ]
    if options.mode is not None and stored.mode != "custom":
        compare.append(("mode", options.mode, stored.mode))
    if options.data_root is not None:
        compare.append(("data_root", absolute(options.data_root), stored.data_root))
    if options.teacher is not None:
        compare.append(("teacher", absolute(options.teacher), stored.teacher))
    if options.init is not None:
        compare.append(("init", absolute(options.init), stored.init))
    for name, asked, have in compare:
        if asked is not None and asked != have:
            raise CheckpointError(
                f"{source} was trained with {param(name)} {_show(have)}, this run asks for {param(name)} {_show(asked)}; "
                f"resume with the same options (or none) or choose another {param('out')}")
    changes = {name: getattr(options, name) for name in RUNTIME_FIELDS if getattr(options, name) is not None}
    return dataclasses.replace(stored, **changes)


def absolute(path: str | None) -> str | None:
    """An absolute form of a user path (so a resumed run finds it from any folder)."""
    from pathlib import Path

    return None if path is None else str(Path(path).expanduser().resolve())


def _show(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2:
        return format_size(value)
    return str(value)
