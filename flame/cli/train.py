"""``flame-train``: train the paper's networks as static, future-frame or two-frame predictors."""

from __future__ import annotations

import os
from typing import Any, Callable

import click

from flame.cli import ranks
from flame.cli.common import handle_errors
from flame.core.sizes import parse_size
from flame.cli.ui import console, fmt, out
from flame.core.errors import ConfigError
from flame.evaluation.datasets import DATASET_KINDS
from flame.media import FOOTAGE_KINDS


def parse_crop(text: str | None) -> tuple[int, int] | None:
    """``768`` (square) or ``HxW``.

    Raises:
        ConfigError: when the text is neither.
    """
    if text is None:
        return None
    if text.strip().isdigit():
        side = int(text)
        if side <= 0:
            raise ConfigError(f"expected a positive crop size, found {text!r}")
        return side, side
    return parse_size(text)


class RichReporter:
    """Draws the training loop's events: one progress bar with loss and speed, a line per epoch."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[speed]}"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console, transient=True,
        )
        self.task: Any = None

    def __enter__(self) -> "RichReporter":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def _reset(self, description: str, total: int | None) -> None:
        if self.task is None:
            self.task = self.progress.add_task(description, total=total, loss="-", speed="")
        else:
            self.progress.reset(self.task, description=description, total=total, loss="-", speed="")

    def info(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        self._reset(f"epoch {epoch}/{epochs}", steps)

    def step(self, done: int, loss: float, images_per_s: float) -> None:
        self.progress.update(self.task, completed=done, loss=f"{loss:.4f}", speed=f"{images_per_s:.1f} img/s")

    def validation(self) -> Callable[[int, int], None]:
        self._reset("validating", None)

        def update(done: int, total: int) -> None:
            self.progress.update(self.task, completed=done, total=total)

        return update

    def end_epoch(self, metrics: dict[str, Any]) -> None:
        self.info(
            f"epoch {metrics['epoch']}: loss {fmt(metrics['train_loss'])}, val mIoU {fmt(metrics['val_miou'])}, "
            f"FLAME(k={metrics['flame_offset']}) {fmt(metrics['val_flame'])}, best {fmt(metrics['best_flame'])}, "
            f"{metrics['images_per_s']:.1f} img/s, lr {metrics['lr']:.3g}"
        )


def _model_names() -> str:
    # The registry imports torch; without the [train] extra, --help still works (and main says what to install).
    try:
        from flame.trainer.architectures import MODEL_NAMES
    except ModuleNotFoundError:
        return "install the [train] extra to list them"
    return ", ".join(MODEL_NAMES)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
# --model stays free text so that the trainer's message lists the registry (and --resume needs none).
@click.option("--model", default=None, help=f"Network (required unless --resume): {_model_names()}.")
@click.option("--mode", default=None,
              help="static: I_t -> S_t; future: I_t -> S_t+k; two-frame: (I_t-1, I_t) -> S_t+k. [default: static]")
@click.option("--offset", type=int, default=None, help="Frame offset k (or give --latency-ms).")
@click.option("--latency-ms", type=float, default=None,
              help="Network latency in ms; k = ceil(latency * fps / 1000) at the data set's fps.")
@click.option("--window", type=int, default=None, help="Input frames T (overrides the mode's 1 or 2).")
@click.option("--dataset", type=click.Choice((*DATASET_KINDS, *FOOTAGE_KINDS)), default=None,
              help="Training data; video, bag and frames are your own footage, labelled by --teacher. "
                   "[default: synthetic]")
@click.option("--data-root", type=click.Path(), default=None,
              help="Data set folder (cityscapes, folder; for synthetic a folder from flame-data synth); "
                   "the video, bag or image folder for footage.")
@click.option("--teacher", type=click.Path(), default=None,
              help="Engine file that labels every frame of footage (run once, offline, cached).")
@click.option("--topic", default=None, help="The bag's image topic (default: its only one).")
@click.option("--fps", type=float, default=None,
              help="Frame rate of an image folder (default 30); for a video or bag: i/fps instead of recorded times.")
@click.option("--size", default=None, help="Frame size HxW of the generated synthetic video. [default: 128x256]")
@click.option("--crop", default=None, help="Training crop, 768 or HxW. [default: 768, capped at the input size]")
@click.option("--input-size", default=None,
              help="Input size HxW of the trained network. [default: validation frame size, multiples of 32]")
@click.option("--epochs", type=int, default=None, help="[default: SwiftNet 200, DeepLabV3+ 220]")
@click.option("--iters-per-epoch", type=int, default=None, help="Cap on steps per epoch (short runs).")
@click.option("--batch-size", type=int, default=None, help="Per process. [default: SwiftNet 12, DeepLabV3+ 10]")
@click.option("--lr", type=float, default=None, help="[default: SwiftNet 5e-4 (Adam), DeepLabV3+ 5e-2 (SGD)]")
@click.option("--encoder-lr", type=float, default=None,
              help="[default with --pretrained: SwiftNet 1e-4, DeepLabV3+ 5e-3; from scratch: --lr]")
@click.option("--weight-decay", type=float, default=None, help="[default: SwiftNet 1e-4, DeepLabV3+ 5e-4]")
@click.option("--workers", type=int, default=None, help="Data loading processes. [default: min(4, CPUs)]")
@click.option("--device", default=None, help="auto, cpu, cuda or cuda:N. [default: auto]")
@click.option("--amp/--no-amp", default=None, help="Mixed precision. [default: on with CUDA]")
@click.option("--seed", type=int, default=None, help="[default: 0]")
@click.option("--pretrained", type=click.Path(), default=None,
              help="ImageNet encoder weights, torchvision state-dict file (never downloaded).")
@click.option("--init", "init_from", type=click.Path(), default=None,
              help="Start from this FLAME checkpoint's weights (e.g. your static network, to fine-tune it for the "
                   "future); a wider window starts with zero weights on the earlier frames.")
@click.option("--max-val-sequences", type=int, default=None, help="Validate on the first N sequences only.")
@click.option("--out", "out_dir", type=click.Path(), required=True, help="Run folder: last.pt, best.pt, metrics.jsonl.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last.pt.")
@handle_errors
def main(model, mode, offset, latency_ms, window, dataset, data_root, teacher, topic, fps, size, crop, input_size, epochs,
         iters_per_epoch, batch_size, lr, encoder_lr, weight_decay, workers, device, amp, seed, pretrained,
         init_from, max_val_sequences, out_dir, resume):
    """Train a segmentation network for FLAME (static, future-frame or two-frame)."""
    from flame.trainer.config import TrainOptions
    from flame.trainer.train import BEST, LAST, train

    options = TrainOptions(
        out=out_dir, resume=resume, model=model, mode=mode, offset=offset, latency_ms=latency_ms, window=window,
        dataset=dataset, data_root=data_root, size=parse_size(size), crop=parse_crop(crop),
        input_size=parse_size(input_size), epochs=epochs, iters_per_epoch=iters_per_epoch, batch_size=batch_size,
        lr=lr, encoder_lr=encoder_lr, weight_decay=weight_decay, workers=workers, device=device, amp=amp,
        seed=seed, pretrained=pretrained, init=init_from, max_val_sequences=max_val_sequences, teacher=teacher,
        topic=topic, fps=fps,
    )
    main_rank = ranks.is_rank_zero()
    try:
        with RichReporter() as reporter:
            result = train(options, reporter)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: handle_errors says which and exits 130 or 143
        if main_rank:
            click.echo(f"{os.path.join(out_dir, LAST)} holds the last finished epoch; continue with "
                       f"flame-train --out {out_dir} --resume", err=True)
        raise
    if main_rank:
        best = f"best FLAME(k={result.config.eval_offset}) {fmt(result.best_flame)} at epoch {result.best_epoch}" \
            if result.best_flame is not None else "no validation score"
        out.print(f"trained {result.config.model} ({result.card.mode}, window {result.card.window}, offset "
                  f"{result.card.offset}) for {result.epochs_done} epochs; {best}; checkpoints "
                  f"{os.path.join(out_dir, LAST)} and {os.path.join(out_dir, BEST)}", markup=False, highlight=False)


if __name__ == "__main__":  # torchrun --nproc_per_node N -m flame.cli.train ...
    main()
