"""The training loop behind ``flame-train``.

One call, :func:`train`, runs a fresh or resumed run in one process or under
``torchrun``. Rank 0 validates after every epoch with ``flame.evaluation``
(static mIoU at k = 0 and FLAME at the validation offset), appends a line to
``OUT/metrics.jsonl``, and writes ``OUT/last.pt`` and, when FLAME improved,
``OUT/best.pt`` (both atomically). An interrupted run leaves the previous
``last.pt`` intact; ``resume`` continues it (epoch, optimiser, schedule, RNG).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from flame.core.errors import CheckpointError, ConfigError, DataError, first_line
from flame.evaluation.datasets import SequenceDataset, SyntheticSpec, load_synthetic, open_dataset
from flame.evaluation.protocols import PredictorSource, evaluate
from flame.core.files import write_text
from flame.core.card import ModelCard
from flame.trainer import rng
from flame.trainer.checkpoint import card_of, read_checkpoint, save_checkpoint
from flame.trainer.config import TrainConfig, TrainOptions, check_options, merge_resume, resolve_config
from flame.trainer.data import Augmentation, WindowDataset, normalise, offset_error, window_samples
from flame.trainer.distributed import DistContext, setup
from flame.trainer.models import build_model, count_parameters, load_pretrained
from flame.trainer.optim import learning_rates, make_optimizer, make_scheduler, segmentation_loss
from flame.trainer.predict import predict
from flame.trainer.presets import preset_for
from flame.trainer.reporting import Reporter

LAST = "last.pt"
BEST = "best.pt"
METRICS = "metrics.jsonl"
#: A pretrained file must fill at least this share of the encoder's tensors to count as fitting.
PRETRAINED_MIN_SHARE = 0.9
_BACKBONE_FILES = {"swiftnet-r18": "resnet18", "swiftnet-r18-x": "resnet18",
                   "deeplabv3plus-mobilenetv2": "mobilenet_v2", "deeplabv3plus-r101": "resnet101"}


@dataclass
class TrainResult:
    """What a run produced.

    Attributes:
        out: the run folder.
        config: the resolved configuration.
        card: the model card written into the checkpoints.
        epochs_done: epochs completed (including those of a resumed run).
        best_flame: best validation FLAME so far (None before any validation).
        best_epoch: the epoch that reached it.
        metrics: the lines of ``metrics.jsonl`` written by this call.
    """

    out: Path
    config: TrainConfig
    card: ModelCard
    epochs_done: int
    best_flame: float | None
    best_epoch: int | None
    metrics: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------- data and card
def open_data(kind: str, root: str | None, size: tuple[int, int] | None) -> tuple[SequenceDataset, SequenceDataset, str | None]:
    """(train split, validation split, a note or None) of a data set.

    The synthetic set without ``root`` is generated into the cache at ``size``.

    Raises:
        ConfigError: on a missing root or ``size`` for a data set on disk.
        DataError: on a malformed data set.
    """
    if size is not None and (kind != "synthetic" or root):
        raise ConfigError("{size} sets the frame size of the generated synthetic video; a data set on disk "
                          "keeps its own (use {input_size} to train and deploy at another size)")
    if kind == "synthetic" and not root:
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
        extra={"dataset": config.dataset, "data_root": config.data_root, "epochs": config.epochs,
               "flame_offset": config.eval_offset, "crop": list(config.crop), "pretrained": config.pretrained,
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
    # The R18-X stem is new by design (paper 4.2): it cannot come from an ImageNet file.
    expected = [k for k in own if not (config.model.endswith("-x") and k.startswith("conv1."))]
    counts = load_pretrained(model, config.pretrained)
    if counts["loaded"] < PRETRAINED_MIN_SHARE * len(expected):
        raise CheckpointError(
            f"pretrained weights {config.pretrained} fill only {counts['loaded']} of the {len(expected)} "
            f"encoder tensors of {config.model}; expected torchvision {_BACKBONE_FILES[config.model]} weights"
        )
    return f"loaded {counts['loaded']} ImageNet tensors into the encoder from {config.pretrained}"


# ---------------------------------------------------------------- validation
def validate(model: nn.Module, card: ModelCard, dataset: SequenceDataset, flame_offset: int,
             progress: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """(static mIoU at k = 0, FLAME at ``flame_offset``) through the PyTorch reference predictor."""
    source = PredictorSource(lambda frames: predict(model, card, frames), window=card.window,
                             input_size=card.input_size)
    result = evaluate(dataset, source, offsets=(0, flame_offset), progress=progress)
    return result.flame[0].miou, result.flame[flame_offset].miou


# ---------------------------------------------------------------- the run
def _plain(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _read_metrics(path: Path, upto: int) -> list[str]:
    if not path.is_file():
        return []
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line).get("epoch", 0) <= upto:
                kept.append(line)
        except (json.JSONDecodeError, AttributeError):
            continue
    return kept


class _Run:
    """State of one training run in this process."""

    def __init__(self, options: TrainOptions, reporter: Reporter) -> None:
        self.out = Path(options.out)
        self.last = self.out / LAST
        self.resumed: dict[str, Any] | None = None
        if options.resume:
            self.resumed = read_checkpoint(self.last)
            stored = TrainConfig.from_dict(self.resumed.get("config"), str(self.last))
            config: TrainConfig | None = merge_resume(stored, options, str(self.last))
            device = config.device
        else:
            if self.last.exists():
                raise ConfigError(f"{self.out} already holds a training run ({LAST}); pass {{resume}} to continue "
                                  "it or choose another {out}")
            check_options(options)
            if options.model is None:
                raise ConfigError("{model} is required (or {resume} to continue a run in {out})")
            preset_for(options.model)
            config = None
            device = options.device or "auto"
        self.ctx: DistContext = setup(device)
        self.reporter = reporter if self.ctx.is_main else Reporter()
        try:
            self._prepare(options, config)
        except BaseException:
            self.ctx.close()
            raise

    def _prepare(self, options: TrainOptions, config: TrainConfig | None) -> None:
        ctx = self.ctx
        kind = config.dataset if config else (options.dataset or "synthetic")
        root = config.data_root if config else options.data_root
        size = config.size if config else options.size
        # Rank 0 opens (and maybe generates) the data first; the others then find it cached.
        if ctx.is_main:
            self.train_set, self.val_set, note = open_data(kind, root, size)
        ctx.barrier()
        if not ctx.is_main:
            self.train_set, self.val_set, note = open_data(kind, root, size)
        if note:
            self.reporter.info(note)
        if config is None:
            frame = self.val_set.sequences[0].frame(0)
            config = resolve_config(options, self.train_set, frame.shape[:2])
        self.config = config
        self.card = make_card(config, self.train_set)
        if self.resumed is not None:
            stored_card = card_of(self.resumed, str(self.last))
            if (stored_card.architecture, stored_card.window, stored_card.num_classes) != \
                    (self.card.architecture, self.card.window, self.card.num_classes):
                raise CheckpointError(
                    f"{self.last} holds {stored_card.architecture} (window {stored_card.window}, "
                    f"{stored_card.num_classes} classes) but the run needs {self.card.architecture} "
                    f"(window {self.card.window}, {self.card.num_classes} classes)")
        if not window_samples(self.val_set, config.eval_offset, config.window):
            raise ConfigError(offset_error(self.val_set, config.eval_offset, config.window))
        self.val_set = self.val_set.head(config.max_val_sequences)

        self.train_data = WindowDataset(self.train_set, config.offset, config.window, config.input_size,
                                        Augmentation(crop=config.crop), config.seed, self.card.mean)
        self.sampler = DistributedSampler(self.train_data, num_replicas=ctx.world_size, rank=ctx.rank,
                                          shuffle=True, seed=config.seed)
        # drop_last: DeepLab's image-pooling BatchNorm cannot train on a batch of one.
        self.loader = DataLoader(self.train_data, batch_size=config.batch_size, sampler=self.sampler,
                                 num_workers=config.workers, pin_memory=ctx.device.type == "cuda", drop_last=True)
        self.steps = len(self.loader) if config.iters_per_epoch is None else min(len(self.loader), config.iters_per_epoch)
        if self.steps == 0:
            raise ConfigError(
                f"{len(self.train_data)} training samples make no full batch of {config.batch_size} in each of "
                f"{ctx.world_size} process(es); lower {{batch_size}}")

        torch.manual_seed(config.seed)  # same initial weights on every rank
        model = build_model(config.model, self.card.num_classes, config.window)
        if self.resumed is None:
            self.reporter.info(attach_pretrained(model, config))
        self.model = model.to(ctx.device)
        self.amp = bool(config.amp if config.amp is not None else ctx.device.type == "cuda")
        if self.amp and ctx.device.type != "cuda":
            self.reporter.info("AMP needs a CUDA device: training in float32 on the CPU")
            self.amp = False
        self.optimizer = make_optimizer(self.model, config)
        self.scheduler = make_scheduler(self.optimizer, config, config.epochs * self.steps)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.start_epoch, self.best, self.best_epoch = 0, None, None
        if self.resumed is not None:
            self._restore(self.resumed)
        if self.resumed is None:
            torch.manual_seed(config.seed + ctx.rank)  # each rank its own dropout draws
        self.net: nn.Module = self.model
        if ctx.distributed:
            ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.reporter.info(
            f"{config.model} ({count_parameters(self.model) / 1e6:.2f}M parameters), {config.mode}: window "
            f"{config.window}, trained offset {config.offset}, FLAME at k={config.eval_offset}; "
            f"{len(self.train_data)} samples, {self.steps} steps of {config.batch_size} x {ctx.world_size} "
            f"process(es) per epoch on {ctx.device}{' with AMP' if self.amp else ''}")

    def _restore(self, data: dict[str, Any]) -> None:
        where = str(self.last)
        try:
            self.model.load_state_dict(data["model"])
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise CheckpointError(f"weights in {where} do not fit {self.config.model} (window {self.config.window}): "
                                  f"{first_line(exc)}") from exc
        try:
            self.optimizer.load_state_dict(data["optimizer"])
            self.scheduler.load_state_dict(data["scheduler"])
            if data.get("scaler"):
                self.scaler.load_state_dict(data["scaler"])
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"{where}: optimiser or schedule state does not fit this run "
                                  f"({first_line(exc, 160, typed=True)})") from exc
        self.start_epoch = int(data["epoch"])
        self.best = data.get("best")
        self.best_epoch = data.get("best_epoch")
        states = data.get("rng") or []
        if states:
            rng.restore(states[self.ctx.rank % len(states)], self.ctx.device)
        if int(data.get("world_size", self.ctx.world_size)) != self.ctx.world_size:
            self.reporter.info(f"{where} was written by {data['world_size']} process(es), this run has "
                               f"{self.ctx.world_size}: the data order and schedule length change")
        self.reporter.info(f"resuming {where} after epoch {self.start_epoch} of {self.config.epochs}")

    # ------------------------------------------------------------ epochs
    def run(self, on_epoch_end: Callable[[int], None] | None = None) -> TrainResult:
        config, ctx = self.config, self.ctx
        metrics_path = self.out / METRICS
        lines = _read_metrics(metrics_path, self.start_epoch) if ctx.is_main else []
        written: list[dict[str, Any]] = []
        if self.start_epoch >= config.epochs:
            self.reporter.info(f"{self.last} already completed all {config.epochs} epochs")
        for epoch in range(self.start_epoch, config.epochs):
            began = time.perf_counter()
            loss, speed = self._train_epoch(epoch)
            loss = ctx.mean(loss)
            miou = flame = None
            if ctx.is_main:
                miou, flame = validate(self.model, self.card, self.val_set, config.eval_offset,
                                       self.reporter.validation())
                miou, flame = _plain(miou), _plain(flame)
            improved = flame is not None and (self.best is None or flame > self.best)
            if improved:
                self.best, self.best_epoch = flame, epoch + 1
            states = ctx.gather(rng.capture(ctx.device))  # collective: every rank takes part
            if ctx.is_main:
                rates = learning_rates(self.optimizer)
                line = {"epoch": epoch + 1, "train_loss": _plain(loss), "val_miou": miou, "val_flame": flame,
                        "flame_offset": config.eval_offset, "lr": rates["decoder"], "encoder_lr": rates["encoder"],
                        "best_flame": self.best, "seconds": round(time.perf_counter() - began, 3),
                        "images_per_s": round(speed, 3)}
                lines.append(json.dumps(line))
                written.append(line)
                # Metrics first: a crash before last.pt is rewritten re-runs the epoch and its line.
                write_text(metrics_path, "\n".join(lines) + "\n")
                payload = self._payload(epoch + 1, states)
                save_checkpoint(self.last, payload)
                if improved:
                    save_checkpoint(self.out / BEST, payload)
                self.reporter.end_epoch(line)
            ctx.barrier()
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1)
        return TrainResult(self.out, config, self.card, max(self.start_epoch, config.epochs), self.best,
                           self.best_epoch, written)

    def _train_epoch(self, epoch: int) -> tuple[float, float]:
        """One pass; returns (mean loss of this process, images per second over all processes)."""
        config, ctx = self.config, self.ctx
        self.sampler.set_epoch(epoch)
        self.train_data.set_epoch(epoch)
        self.net.train()
        self.reporter.start_epoch(epoch + 1, config.epochs, self.steps)
        mean, std = self.card.mean, self.card.std
        total, images, began = 0.0, 0, time.perf_counter()
        for step, (frames, labels) in enumerate(self.loader):
            if step >= self.steps:
                break
            frames = frames.to(ctx.device, non_blocking=True)
            labels = labels.to(ctx.device, non_blocking=True)
            with torch.autocast(ctx.device.type, dtype=torch.float16, enabled=self.amp):
                logits = self.net(normalise(frames, mean, std))
            loss = segmentation_loss(logits, labels)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            total += float(loss.detach())
            images += frames.shape[0] * ctx.world_size
            speed = images / max(time.perf_counter() - began, 1e-9)
            self.reporter.step(step + 1, total / (step + 1), speed)
        return total / self.steps, images / max(time.perf_counter() - began, 1e-9)

    def _payload(self, epoch: int, states: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": epoch,
            "config": self.config.to_dict(),
            "card": self.card.to_dict(),
            "rng": states,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "world_size": self.ctx.world_size,
        }


def train(options: TrainOptions, reporter: Reporter | None = None,
          on_epoch_end: Callable[[int], None] | None = None) -> TrainResult:
    """Train (or resume) one network as the options say.

    Args:
        options: what the user asked for (see :class:`TrainOptions`).
        reporter: receives progress and notes (rank 0 only).
        on_epoch_end: called with the epoch number after its checkpoint is written.

    Returns:
        The run's result (on every rank; files are written by rank 0 only).

    Raises:
        ConfigError, DataError, CheckpointError: on bad options, data or checkpoints.
        KeyboardInterrupt: on Ctrl-C; ``OUT/last.pt`` then still holds the last finished epoch.
    """
    run = _Run(options, reporter or Reporter())
    try:
        return run.run(on_epoch_end)
    finally:
        run.ctx.close()
