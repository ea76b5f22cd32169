"""The self-test's network (:mod:`flame.apps.self_test`): a tiny deterministic checkpoint and a training step on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flame.core.errors import FlameError

#: The self-test network: the smallest registered architecture at a small input, one frame.
TINY_ARCHITECTURE = "swiftnet-r18"
TINY_SIZE = (64, 64)
TINY_CLASSES = 5


def tiny_checkpoint(folder: Path) -> Path:
    """A checkpoint of a tiny, deterministic network (random weights, sharpened).

    The network is sharpened (:func:`flame.apps.sharpen.sharpen`) on rendered
    frames of the synthetic video's ``train`` split, so that its logits have a
    trained network's margins: a random network's are near ties, and FP16 or
    INT8 would be compared on tie-breaking.
    """
    import torch

    from flame.apps.sharpen import sharpen
    from flame.core.card import ModelCard
    from flame.evaluation.datasets.synthetic import CLASS_NAMES, PALETTE, SyntheticSpec, render_sequence
    from flame.trainer.checkpoint import save_checkpoint
    from flame.trainer.models import build_model

    card = ModelCard(architecture=TINY_ARCHITECTURE, num_classes=TINY_CLASSES,
                     class_names=tuple(CLASS_NAMES[:TINY_CLASSES]),
                     palette=tuple(tuple(int(v) for v in c) for c in PALETTE[:TINY_CLASSES]), window=1, offset=1,
                     fps=30.0, input_size=TINY_SIZE, mode="single-frame", extra={"doctor": "tiny self-test network"})
    torch.manual_seed(0)
    model = build_model(card.architecture, card.num_classes, card.window)
    spec = SyntheticSpec(size=TINY_SIZE, fps=card.fps, frames=24, seed=2)
    rendered = [render_sequence(spec, index, "train") for index in range(2)]
    frames = np.concatenate([video for video, _ in rendered])
    labels = np.concatenate([truth for _, truth in rendered])
    sharpen(model, card, frames[:, None], labels)
    return save_checkpoint(folder / "tiny.pt", {"model": model.eval().state_dict(), "epoch": 0, "card": card.to_dict()})


def train_step(folder: Path, device: str) -> str:
    """Two steps of the project's training loop (:func:`flame.trainer.train.train_one_epoch`) on ``device``.

    A run is set up as ``flame-train`` does (AMP on CUDA) on a tiny synthetic
    video written under ``folder``; the weights must change and the loss be finite.

    Raises:
        FlameError: when the loss is not finite or the weights did not move.
    """
    import torch

    from flame.evaluation.datasets import SyntheticSpec, write_synthetic
    from flame.trainer.config import TrainOptions
    from flame.trainer.reporting import Reporter
    from flame.trainer.setup import start_run
    from flame.trainer.train import train_one_epoch

    data = folder / "train-data"
    if not (data / "meta.json").is_file():
        write_synthetic(SyntheticSpec(size=(32, 64), frames=4, sequences=1, val_sequences=1), data)
    options = TrainOptions(out=str(folder / f"train-{device}"), model=TINY_ARCHITECTURE, mode="static",
                           dataset="synthetic", data_root=str(data), epochs=1, iters_per_epoch=2, batch_size=2,
                           workers=0, device=device, seed=0)
    run = start_run(options, Reporter())
    try:
        before = [p.detach().clone() for p in run.model.parameters()]
        loss, _ = train_one_epoch(run, 0)
        moved = any(not torch.equal(a, b.detach()) for a, b in zip(before, run.model.parameters()))
    finally:
        run.ctx.close()
    if not np.isfinite(loss) or not moved:
        raise FlameError(f"the training step left the weights unchanged or the loss not finite (loss {loss})")
    return f"loss {loss:.4f} over 2 steps on {run.ctx.device}{' with AMP' if run.amp else ''}"
