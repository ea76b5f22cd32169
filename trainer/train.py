"""The training loop behind ``flame-train``.

One call, :func:`train`, runs a fresh or resumed run in one process or under
``torchrun``; the loop is :func:`train_one_epoch` then, on rank 0,
:func:`~flame.trainer.validate.validate` (static mIoU at k = 0 and FLAME at
the validation offset) and :func:`end_epoch`, which appends a line to
``OUT/metrics.jsonl`` and writes ``OUT/last.pt`` (the full training state) and, when FLAME improved,
``OUT/best.pt`` (weights and card only; both atomically). An interrupted run leaves the previous
``last.pt`` intact; ``resume`` continues it (epoch, optimiser, schedule, RNG).
Setting a run up is :mod:`flame.trainer.setup`; checkpoints are
:mod:`flame.trainer.state`.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from flame.core.card import ModelCard
from flame.core.files import write_text
from flame.trainer import rng
from flame.trainer.checkpoint import save_checkpoint
from flame.trainer.config import TrainConfig, TrainOptions
from flame.trainer.data import normalise
from flame.trainer.optim import learning_rates, segmentation_loss
from flame.trainer.reporting import Reporter
from flame.trainer.setup import BEST, LAST, METRICS, Run, start_run
from flame.trainer.state import best_payload, payload, read_metrics
from flame.trainer.validate import validate

__all__ = ["BEST", "LAST", "METRICS", "TrainResult", "end_epoch", "run_epochs", "train", "train_one_epoch"]


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


def _plain(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def train_one_epoch(run: Run, epoch: int) -> tuple[float, float]:
    """One pass; returns (mean loss of this process, images per second over all processes)."""
    config, ctx = run.config, run.ctx
    run.sampler.set_epoch(epoch)
    run.train_data.set_epoch(epoch)
    run.net.train()
    run.reporter.start_epoch(epoch + 1, config.recipe.epochs, run.steps)
    total, images, began = 0.0, 0, time.perf_counter()
    for step, (frames, labels) in enumerate(run.loader):
        if step >= run.steps:
            break
        frames = frames.to(ctx.device, non_blocking=True)
        labels = labels.to(ctx.device, non_blocking=True)
        # No autocast context at all without AMP: it exists only for CUDA and CPU (not, say, meta).
        with torch.autocast(ctx.device.type, dtype=torch.float16) if run.amp else contextlib.nullcontext():
            logits = run.net(normalise(frames, run.card.mean, run.card.std))
        loss = segmentation_loss(logits, labels)
        run.optimizer.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        run.scaler.step(run.optimizer)
        run.scaler.update()
        run.scheduler.step()
        total += float(loss.detach())
        images += frames.shape[0] * ctx.world_size
        run.reporter.step(step + 1, total / (step + 1), images / max(time.perf_counter() - began, 1e-9))
    return total / run.steps, images / max(time.perf_counter() - began, 1e-9)


def end_epoch(run: Run, epoch: int, lines: list[str], line: dict[str, Any], improved: bool,
              states: list[dict[str, Any]]) -> None:
    """Rank 0 after epoch ``epoch`` (1-based): append its metrics line, write ``last.pt`` (and ``best.pt``)."""
    lines.append(json.dumps(line))
    # Metrics first: a crash before last.pt is rewritten re-runs the epoch and its line.
    write_text(run.out / METRICS, "\n".join(lines) + "\n")
    state = payload(run, epoch, states)
    save_checkpoint(run.last, state)
    if improved:
        save_checkpoint(run.out / BEST, best_payload(state))  # weights and card: resuming reads last.pt
    run.reporter.end_epoch(line)


def _metrics_line(run: Run, epoch: int, loss: float, miou: float | None, flame: float | None, began: float,
                  speed: float) -> dict[str, Any]:
    rates = learning_rates(run.optimizer)
    return {"epoch": epoch, "train_loss": _plain(loss), "val_miou": miou, "val_flame": flame,
            "flame_offset": run.config.eval_offset, "lr": rates["decoder"], "encoder_lr": rates["encoder"],
            "best_flame": run.best, "seconds": round(time.perf_counter() - began, 3),
            "images_per_s": round(speed, 3)}


def run_epochs(run: Run, on_epoch_end: Callable[[int], None] | None = None) -> TrainResult:
    """The loop: train, validate (rank 0), checkpoint (rank 0), for each epoch left."""
    config, ctx = run.config, run.ctx
    epochs = config.recipe.epochs
    lines = read_metrics(run.out / METRICS, run.start_epoch) if ctx.is_main else []
    written: list[dict[str, Any]] = []
    if run.start_epoch >= epochs:
        run.reporter.info(f"{run.last} already completed all {epochs} epochs")
    for epoch in range(run.start_epoch, epochs):
        began = time.perf_counter()
        loss, speed = train_one_epoch(run, epoch)
        loss = ctx.mean(loss)
        miou = flame = None
        if ctx.is_main:
            scores = validate(run.model, run.card, run.val_set, config.eval_offset, run.reporter.validation())
            miou, flame = (_plain(score) for score in scores)
        improved = flame is not None and (run.best is None or flame > run.best)
        if improved:
            run.best, run.best_epoch = flame, epoch + 1
        states = ctx.gather(rng.capture(ctx.device))  # collective: every rank takes part
        if ctx.is_main:
            line = _metrics_line(run, epoch + 1, loss, miou, flame, began, speed)
            written.append(line)
            end_epoch(run, epoch + 1, lines, line, improved, states)
        ctx.barrier()
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1)
    return TrainResult(run.out, config, run.card, max(run.start_epoch, epochs), run.best, run.best_epoch,
                       written)


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
    run = start_run(options, reporter or Reporter())
    try:
        return run_epochs(run, on_epoch_end)
    finally:
        run.ctx.close()
