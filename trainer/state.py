"""Checkpointing and resuming a run: what ``last.pt``/``best.pt`` hold, and putting it back.

``last.pt`` (:func:`payload`) holds the weights, the optimiser, schedule and scaler states, the
epoch, the resolved config and the card, every rank's RNG state, and the best
FLAME so far: all a resumed run needs. ``best.pt`` (:func:`best_payload`) holds
the weights and the card only (with the epoch and its FLAME), what export and
evaluation read: about a third of ``last.pt`` under AdamW, whose two moments per weight it leaves out. :func:`restore` puts one back into a run set up by
:mod:`flame.trainer.setup`; :func:`read_metrics` keeps the ``metrics.jsonl``
lines of the epochs a resumed run does not repeat.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flame.core.errors import CheckpointError, first_line
from flame.trainer import rng

if TYPE_CHECKING:
    from flame.trainer.setup import Run


def payload(run: "Run", epoch: int, states: list[dict[str, Any]]) -> dict[str, Any]:
    """The checkpoint of ``run`` after ``epoch`` (1-based), with every rank's RNG ``states``."""
    return {
        "model": {k: v.detach().cpu() for k, v in run.model.state_dict().items()},
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "scaler": run.scaler.state_dict(),
        "epoch": epoch,
        "config": run.config.to_dict(),
        "card": run.card.to_dict(),
        "rng": states,
        "best": run.best,
        "best_epoch": run.best_epoch,
        "world_size": run.ctx.world_size,
    }


#: What ``best.pt`` keeps of a payload: the weights, the card, and which epoch scored what.
BEST_KEYS = ("model", "epoch", "card", "best", "best_epoch")


def best_payload(state: dict[str, Any]) -> dict[str, Any]:
    """The ``best.pt`` form of a :func:`payload`: weights and card only (runs resume from ``last.pt``)."""
    return {key: state[key] for key in BEST_KEYS if key in state}


def restore(run: "Run", data: dict[str, Any]) -> None:
    """Put a checkpoint's weights, optimiser, schedule, RNG and progress back into ``run``.

    Raises:
        CheckpointError: when the weights or the optimiser state do not fit the run.
    """
    where = str(run.last)
    try:
        run.model.load_state_dict(data["model"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"weights in {where} do not fit {run.config.model} (window {run.config.window}): "
                              f"{first_line(exc)}") from exc
    try:
        run.optimizer.load_state_dict(data["optimizer"])
        run.scheduler.load_state_dict(data["scheduler"])
        if data.get("scaler"):
            run.scaler.load_state_dict(data["scaler"])
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{where}: optimiser or schedule state does not fit this run "
                              f"({first_line(exc, 160, typed=True)})") from exc
    run.start_epoch = int(data["epoch"])
    run.best = data.get("best")
    run.best_epoch = data.get("best_epoch")
    states = data.get("rng") or []
    if states:
        rng.restore(states[run.ctx.rank % len(states)], run.ctx.device)
    if int(data.get("world_size", run.ctx.world_size)) != run.ctx.world_size:
        run.reporter.info(f"{where} was written by {data['world_size']} process(es), this run has "
                          f"{run.ctx.world_size}: the data order and schedule length change")
    run.reporter.info(f"resuming {where} after epoch {run.start_epoch} of {run.config.recipe.epochs}")


def read_metrics(path: Path, upto: int) -> list[str]:
    """The lines of ``metrics.jsonl`` up to epoch ``upto`` (unreadable lines dropped)."""
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
