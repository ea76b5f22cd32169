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
    """A checkpoint of a tiny, deterministic network (random weights, calibrated BatchNorm).

    BatchNorm statistics are estimated on the parity frames so that the
    activations have the scale of a trained network's: with the 0/1 statistics
    of a fresh network, FP16 would be compared on near-tied logits.
    """
    import torch

    from flame.core.card import ModelCard
    from flame.evaluation.datasets.synthetic import CLASS_NAMES, PALETTE
    from flame.export.parity import parity_windows
    from flame.trainer.checkpoint import save_checkpoint
    from flame.trainer.deploy import DeployWrapper
    from flame.trainer.models import build_model

    card = ModelCard(architecture=TINY_ARCHITECTURE, num_classes=TINY_CLASSES,
                     class_names=tuple(CLASS_NAMES[:TINY_CLASSES]),
                     palette=tuple(tuple(int(v) for v in c) for c in PALETTE[:TINY_CLASSES]), window=1, offset=1,
                     fps=30.0, input_size=TINY_SIZE, mode="single-frame", extra={"doctor": "tiny self-test network"})
    torch.manual_seed(0)
    model = build_model(card.architecture, card.num_classes, card.window)
    wrapper = DeployWrapper(model, card)
    with torch.no_grad():
        frames = torch.cat([wrapper.preprocess(torch.from_numpy(w)) for w in parity_windows(card, 4, seed=1)])
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None  # cumulative average over the one calibration pass
        model.train()
        model(frames)
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
