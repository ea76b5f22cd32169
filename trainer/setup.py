"""Setting up a training run: data, card, model, loader, optimiser, and the resumed state.

:func:`start_run` turns the user's options (or a resumed ``last.pt``) into a
:class:`Run`, everything one process of the loop holds. Checkpoint payloads
and their restoration are in :mod:`flame.trainer.state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from flame.core.card import ModelCard
from flame.core.errors import CheckpointError, ConfigError, DataError, param
from flame.evaluation.datasets import DATASETS, SequenceDataset, SyntheticSpec, load_synthetic, open_dataset
from flame.trainer.architectures import architecture
from flame.trainer.checkpoint import card_of, read_checkpoint
from flame.trainer.config import TrainConfig, TrainOptions, check_fresh_options, merge_resume, resolve_config
from flame.trainer.data import Augmentation, WindowDataset, offset_error, window_samples
from flame.trainer.distributed import DistContext, ddp_device_ids, setup
from flame.trainer.init_weights import load_init
from flame.trainer.models import build_model, count_parameters, load_pretrained
from flame.trainer.optim import make_optimizer, make_scheduler
from flame.trainer.footage_data import FOOTAGE_DATASETS, FootageSpec, open_footage_data
from flame.trainer.reporting import Reporter
from flame.trainer.state import restore

LAST = "last.pt"
BEST = "best.pt"
METRICS = "metrics.jsonl"
#: A pretrained file must fill at least this share of the encoder's tensors to count as fitting.
PRETRAINED_MIN_SHARE = 0.9


#: (train split, validation split, a note or None).
Splits = tuple[SequenceDataset, SequenceDataset, str | None]


def open_data(kind: str, root: str | None, size: tuple[int, int] | None, footage: FootageSpec | None = None,
              info: Callable[[str], None] = lambda text: None) -> Splits:
    """(train split, validation split, a note or None) of a data set.

    A kind that needs no root (the synthetic set) without ``root`` is generated into the cache at ``size``.

    Raises:
        ConfigError: on a missing root or ``size`` for a data set on disk.
        DataError: on a malformed data set.
    """
    if footage is not None:
        if size is not None:
            raise ConfigError(f"{param('size')} sets the frame size of the generated synthetic video; footage keeps its own "
                              "(frames are used at the teacher's input size)")
        return open_footage_data(footage, info)
    generated = kind in DATASETS and not DATASETS[kind].needs_root and not root
    if size is not None and not generated:
        raise ConfigError(f"{param('size')} sets the frame size of the generated synthetic video; a data set on disk "
                          f"keeps its own (use {param('input_size')} to train and deploy at another size)")
    if generated:
        spec = SyntheticSpec(size=tuple(size)) if size else SyntheticSpec()
        return load_synthetic("train", spec), load_synthetic("val", spec), None
    train_set = open_dataset(kind, root, "train").require_nonempty()
    val_set = open_dataset(kind, root, "val").require_nonempty()
    note = None
    if train_set.name == val_set.name:
        note = f"{root} has no train/ and val/ folders: validating on the training sequences"
    if list(train_set.class_names) != list(val_set.class_names):
        raise DataError(f"train and val splits of {root} name different classes: {train_set.class_names} "
                        f"and {val_set.class_names}")
    return train_set, val_set, note


def make_card(config: TrainConfig, dataset: SequenceDataset) -> ModelCard:
    """The model card of a run: what an engine needs to feed the network and read its output."""
    return ModelCard(
        architecture=config.model, num_classes=dataset.num_classes, class_names=tuple(dataset.class_names),
        palette=tuple(tuple(int(v) for v in c) for c in np.asarray(dataset.palette)), window=config.window,
        offset=config.offset, fps=config.fps, input_size=config.input_size, latency_ms=config.latency_ms,
        mode=config.mode,
        extra={"dataset": config.dataset, "data_root": config.data_root, "epochs": config.recipe.epochs,
               "flame_offset": config.eval_offset, "crop": list(config.recipe.crop), "pretrained": config.pretrained,
               "trainer": "flame-train"},
    )


def attach_pretrained(model: nn.Module, config: TrainConfig) -> str:
    """Load ImageNet weights into the encoder; returns a note for the user.

    Raises:
        CheckpointError: when the file is unreadable or fills too few of the encoder's tensors.
    """
    if not config.pretrained:
        return "no pretrained weights given: training from scratch"
    own = model.encoder.state_dict()
    entry = architecture(config.model)
    # A new stem (R18-X, paper 4.2) cannot come from an ImageNet file.
    expected = [k for k in own if not (entry.new_stem and k.startswith("conv1."))]
    counts = load_pretrained(model, config.pretrained)
    if counts["loaded"] < PRETRAINED_MIN_SHARE * len(expected):
        raise CheckpointError(
            f"pretrained weights {config.pretrained} fill only {counts['loaded']} of the {len(expected)} "
            f"encoder tensors of {config.model}; expected torchvision {entry.pretrained} weights"
        )
    return f"loaded {counts['loaded']} ImageNet tensors into the encoder from {config.pretrained}"


@dataclass
class Run:
    """Everything one process of a training run holds.

    ``model`` is the bare network (validated, saved); ``net`` is what trains
    (the same module, or its DistributedDataParallel wrapper).
    """

    out: Path
    ctx: DistContext
    reporter: Reporter
    config: TrainConfig
    card: ModelCard
    val_set: SequenceDataset
    train_data: WindowDataset
    sampler: DistributedSampler
    loader: DataLoader
    steps: int
    model: nn.Module
    net: nn.Module
    amp: bool
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    start_epoch: int = 0
    best: float | None = None
    best_epoch: int | None = None

    @property
    def last(self) -> Path:
        """The run's ``last.pt``."""
        return self.out / LAST


def start_run(options: TrainOptions, reporter: Reporter) -> Run:
    """Set up a fresh or resumed run in this process (under ``torchrun``, every process calls it).

    Raises:
        ConfigError, DataError, CheckpointError: on bad options, data or checkpoints.
    """
    out = Path(options.out)
    resumed, config = _resumed(options, out / LAST)
    ctx = setup(config.device if config else (options.device or "auto"))
    try:
        return _prepare(options, config, resumed, out, ctx, reporter if ctx.is_main else Reporter())
    except BaseException:
        ctx.close()
        raise


def _resumed(options: TrainOptions, last: Path) -> tuple[dict[str, Any] | None, TrainConfig | None]:
    """(the resumed checkpoint, its merged config), or (None, None) for a fresh run after checking the options."""
    if options.resume:
        data = read_checkpoint(last)
        stored = TrainConfig.from_dict(data.get("config"), str(last))
        return data, merge_resume(stored, options, str(last))
    if last.exists():
        raise ConfigError(f"{last.parent} already holds a training run ({LAST}); pass {param('resume')} to continue "
                          f"it or choose another {param('out')}")
    check_fresh_options(options)
    return None, None


def _open_splits(ctx: DistContext, kind: str, root: str | None, size: tuple[int, int] | None,
                 footage: FootageSpec | None = None, info: Callable[[str], None] = lambda text: None) -> Splits:
    # Rank 0 opens (and maybe generates or labels) the data first; the others then find it cached.
    if ctx.is_main:
        splits = open_data(kind, root, size, footage, info)
    ctx.barrier()
    return splits if ctx.is_main else open_data(kind, root, size, footage)


def _footage_spec(kind: str, root: str | None, teacher: str | None, topic: str | None,
                  fps: float | None) -> FootageSpec | None:
    return FootageSpec(kind, root or "", teacher or "", topic, fps) if kind in FOOTAGE_DATASETS else None


def _check_resumed_card(resumed: dict[str, Any], card: ModelCard, where: str) -> None:
    stored = card_of(resumed, where)
    if (stored.architecture, stored.window, stored.num_classes) != (card.architecture, card.window, card.num_classes):
        raise CheckpointError(
            f"{where} holds {stored.architecture} (window {stored.window}, {stored.num_classes} classes) but the "
            f"run needs {card.architecture} (window {card.window}, {card.num_classes} classes)")


def _prepare(options: TrainOptions, config: TrainConfig | None, resumed: dict[str, Any] | None, out: Path,
             ctx: DistContext, reporter: Reporter) -> Run:
    if config is None:
        kind = options.dataset or "synthetic"
        train_set, val_set, note = _open_splits(ctx, kind, options.data_root, options.size, _footage_spec(
            kind, options.data_root, options.teacher, options.topic, options.fps), reporter.info)
        config = resolve_config(options, train_set, val_set.sequences[0].frame(0).shape[:2])
    else:
        train_set, val_set, note = _open_splits(ctx, config.dataset, config.data_root, config.size, _footage_spec(
            config.dataset, config.data_root, config.teacher, config.topic, config.footage_fps), reporter.info)
    if note:
        reporter.info(note)
    card = make_card(config, train_set)
    if resumed is not None:
        _check_resumed_card(resumed, card, str(out / LAST))
    if not window_samples(val_set, config.eval_offset, config.window):
        raise ConfigError(offset_error(val_set, config.eval_offset, config.window))

    train_data = WindowDataset(train_set, config.offset, config.window, config.input_size,
                               Augmentation(crop=config.recipe.crop), config.seed, card.mean)
    sampler = DistributedSampler(train_data, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                 seed=config.seed)
    # drop_last: DeepLab's image-pooling BatchNorm cannot train on a batch of one.
    loader = DataLoader(train_data, batch_size=config.recipe.batch_size, sampler=sampler, num_workers=config.workers,
                        pin_memory=ctx.device.type == "cuda", drop_last=True)
    steps = len(loader) if config.iters_per_epoch is None else min(len(loader), config.iters_per_epoch)
    if steps == 0:
        raise ConfigError(
            f"{len(train_data)} training samples make no full batch of {config.recipe.batch_size} in each of "
            f"{ctx.world_size} process(es); lower {param('batch_size')}")

    torch.manual_seed(config.seed)  # same initial weights on every rank
    model = build_model(config.model, card.num_classes, config.window)
    if resumed is None and config.init:
        reporter.info(load_init(model, config.init, config.model))
    elif resumed is None:
        reporter.info(attach_pretrained(model, config))
    model = model.to(ctx.device)
    amp = bool(config.amp if config.amp is not None else ctx.device.type == "cuda")
    if amp and ctx.device.type != "cuda":
        reporter.info("AMP needs a CUDA device: training in float32 on the CPU")
        amp = False
    optimizer = make_optimizer(model, config)
    run = Run(out, ctx, reporter, config, card, val_set.head(config.max_val_sequences), train_data, sampler, loader,
              steps, model, model, amp, optimizer, make_scheduler(optimizer, config, config.recipe.epochs * steps),
              torch.amp.GradScaler(ctx.device.type, enabled=amp))
    if resumed is not None:
        restore(run, resumed)
    else:
        torch.manual_seed(config.seed + ctx.rank)  # each rank its own dropout draws
    if ctx.distributed:
        run.net = DistributedDataParallel(model, device_ids=ddp_device_ids(ctx.device))
    reporter.info(
        f"{config.model} ({count_parameters(model) / 1e6:.2f}M parameters), {config.mode}: window "
        f"{config.window}, trained offset {config.offset}, FLAME at k={config.eval_offset}; "
        f"{len(train_data)} samples, {steps} steps of {config.recipe.batch_size} x {ctx.world_size} "
        f"process(es) per epoch on {ctx.device}{' with AMP' if amp else ''}")
    return run
