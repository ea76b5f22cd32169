"""What the user asked ``flame-train`` for (:class:`TrainOptions`), and the checks that hold whatever the data."""

from __future__ import annotations

import math
from dataclasses import dataclass

from flame.core.errors import ConfigError, param
from flame.evaluation.datasets import DATASET_KINDS
from flame.trainer.blocks import check_input_size
from flame.trainer.footage_data import FOOTAGE_DATASETS

#: Default window of each mode.
MODES = {"static": 1, "future": 1, "two-frame": 2}


@dataclass
class TrainOptions:
    """What the user asked for; ``None`` means "not given" (preset, data set or checkpoint decides).

    Attributes mirror the ``flame-train`` options; ``out`` is the run folder
    and ``resume`` continues ``out/last.pt``.
    """

    out: str
    resume: bool = False
    # Grouped: the data, the model and its timing, the recipe, the machine.
    dataset: str | None = None
    data_root: str | None = None
    size: tuple[int, int] | None = None
    crop: tuple[int, int] | None = None
    input_size: tuple[int, int] | None = None
    model: str | None = None
    mode: str | None = None
    offset: int | None = None
    latency_ms: float | None = None
    window: int | None = None
    epochs: int | None = None
    iters_per_epoch: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    encoder_lr: float | None = None
    weight_decay: float | None = None
    workers: int | None = None
    device: str | None = None
    amp: bool | None = None
    seed: int | None = None
    pretrained: str | None = None
    init: str | None = None
    max_val_sequences: int | None = None
    # Footage labelled by a teacher (--dataset video|bag|frames).
    teacher: str | None = None
    topic: str | None = None
    fps: float | None = None


def _positive(name: str, value: int | float | None) -> None:
    if value is not None and not value > 0:
        raise ConfigError(f"{param(name)} must be > 0, found {value}")


def check_options(options: TrainOptions) -> None:
    """Refuse values that are wrong whatever the data set.

    Raises:
        ConfigError: on an unknown mode or data set, non-positive counts or
            rates, or sizes that are not multiples of 32.
    """
    if options.mode is not None and options.mode not in MODES:
        raise ConfigError(f"unknown mode {options.mode!r}; choose one of {', '.join(MODES)}")
    kinds = (*DATASET_KINDS, *FOOTAGE_DATASETS)
    if options.dataset is not None and options.dataset not in kinds:
        raise ConfigError(f"unknown data set {options.dataset!r}; choose one of {', '.join(kinds)}")
    footage = options.dataset in FOOTAGE_DATASETS
    if footage and not options.teacher:
        raise ConfigError(f"{param('dataset')} {options.dataset} has no labels of its own: give {param('teacher')} ENGINE to "
                          "label every frame")
    if footage and not options.data_root:
        raise ConfigError(f"{param('dataset')} {options.dataset} needs {param('data_root')}: the footage to train on")
    for name in ("teacher", "topic", "fps"):
        if getattr(options, name) is not None and not footage and not (options.resume and name != "fps"):
            raise ConfigError(f"{param(name)} applies to footage ({param('dataset')} {'|'.join(FOOTAGE_DATASETS)})")
    if options.init and options.pretrained:
        raise ConfigError(f"give {param('init')} (a FLAME checkpoint to start from) or {param('pretrained')} "
                          "(ImageNet encoder weights), not both")
    for name in ("window", "epochs", "iters_per_epoch", "batch_size", "lr", "encoder_lr", "max_val_sequences"):
        _positive(name, getattr(options, name))
    for name in ("offset", "latency_ms", "weight_decay", "workers"):
        value = getattr(options, name)
        if value is not None and (value < 0 or not math.isfinite(value)):
            raise ConfigError(f"{param(name)} must be >= 0, found {value}")
    for name in ("size", "crop", "input_size"):
        size = getattr(options, name)
        if size is not None:
            try:
                check_input_size(*size)
            except ConfigError as exc:
                raise ConfigError(f"{param(name)}: {exc.template}") from exc
