"""FLAME on the user's own footage: reference labels for every frame instead of ground truth.

``flame-eval --engine E --video F | --frames DIR | --bag B --reference TEACHER|self``. The footage's real
frame times (a bag's header stamps, a video's presentation timestamps, ``--fps`` for a folder) drive k,
the pairing and streaming FLAME; the reference (a teacher engine, or E's own zero-latency output) labels
every frame once, cached (:mod:`flame.evaluation.reference`); everything else is ``flame-eval``'s scoring.
"""

from __future__ import annotations

import os
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

from flame.core.sizes import format_size
from flame.apps.assess import choose_latency, evaluate_engine
from flame.core.card import ModelCard
from flame.core.errors import ConfigError, DataError, param
from flame.evaluation.datasets.base import SequenceDataset
from flame.evaluation.report import EvalReport
from flame.evaluation.datasets.footage import footage_dataset
from flame.evaluation.reference import Reference, cache_folder, is_cached, reference_labels
from flame.media.footage import Footage
from flame.media.intervals import interval_stats
from flame.runtime.engines import Engine, load_engine

Progress = Callable[[int, int], None]
#: ``bars(description)``: a context manager giving a ``(done, total)`` callback.
ProgressBars = Callable[[str], ContextManager[Progress]]
#: The ``--reference`` value that makes the scored engine its own reference.
SELF = "self"


@dataclass(frozen=True)
class FootageRequest:
    """What ``flame-eval`` scores on footage; the latency options are :func:`choose_latency`'s."""

    engine: str
    reference: str
    cache_root: Path
    card: str | None = None
    device: str | None = None
    engine_options: dict[str, Any] | None = None
    force: bool = False


def check_teacher(teacher: ModelCard, engine: ModelCard, force: bool) -> None:
    """Refuse a teacher of other classes always, and of another input size unless ``force``.

    Raises:
        DataError: on other classes (named); ConfigError on another size without ``force``.
    """
    if list(teacher.class_names) != list(engine.class_names):
        if len(teacher.class_names) != len(engine.class_names):
            said = f"{len(teacher.class_names)} classes there, {len(engine.class_names)} here"
        else:
            said = ", ".join(f"{a!r} there, {b!r} here" for a, b in zip(teacher.class_names, engine.class_names)
                             if a != b)
        raise DataError(f"the reference predicts other classes than the engine ({said}): a reference must "
                        "label the engine's own classes", parameter="reference")
    if tuple(teacher.input_size) != tuple(engine.input_size) and not force:
        raise ConfigError(f"the reference takes {format_size(teacher.input_size)} frames and the "
                          f"engine {format_size(engine.input_size)}; its labels are resized to the "
                          f"frames either way: pass {param('force')} to score against it anyway", parameter="reference")


def label_footage(request: FootageRequest, engine: Engine, footage: Footage,
                  progress: "ProgressBars | None" = None) -> tuple[Any, Reference, Path, bool]:
    """The reference labels of every frame (made now, or read from the cache).

    Raises:
        ConfigError: when the reference is a folder, or of another size without ``force``.
        DataError: when it labels other classes.
    """
    with ExitStack() as stack:
        if request.reference == SELF:
            labeler, card = engine, engine.card
            reference = Reference.of_engine("self", request.engine, card)
        else:
            path = Path(request.reference)
            if path.is_dir():
                raise ConfigError(f"reference {path} is a folder: give the teacher's engine file "
                                  "(.onnx, .plan, .pt2) or 'self'", parameter="reference")
            teacher = stack.enter_context(load_engine(path, device=request.device,
                                                      **(request.engine_options or {})))
            check_teacher(teacher.card, engine.card, request.force)
            labeler, card = teacher, teacher.card
            reference = Reference.of_engine("teacher", path, card)
        folder = cache_folder(request.cache_root, reference, footage)
        if is_cached(folder):
            return reference_labels(footage, labeler, reference, request.cache_root)[0], reference, folder, True
        with (progress or _no_progress)("reference labels") as step:
            labels, folder, reused = reference_labels(footage, labeler, reference, request.cache_root, step)
    return labels, reference, folder, reused


def footage_report_blocks(footage: Footage, reference: Reference, folder: Path, reused: bool) -> dict[str, Any]:
    """The ``reference`` and ``footage`` blocks a footage report adds to ``flame-eval``'s."""
    stats = interval_stats(footage.timestamps())
    return {
        "reference": {"kind": reference.kind, "path": reference.name, "description": reference.describe(),
                      "cache": str(folder), "cached": reused},
        "footage": {"kind": footage.kind, "path": str(footage.path), "topic": footage.topic, "frames": len(footage),
                    "skipped": footage.skipped, "time_source": footage.time_source, "intervals": stats.to_dict(),
                    "intervals_line": stats.describe()},
    }


def open_footage_engine(request: FootageRequest) -> Engine:
    """The engine to score."""
    return load_engine(request.engine, device=request.device, card=request.card, **(request.engine_options or {}))


def footage_data(engine: Engine, footage: Footage, labels: Any) -> SequenceDataset:
    """The footage with its reference labels as a data set of the engine's classes.

    Raises:
        DataError: when the footage has fewer frames than the engine's window.
    """
    if len(footage) < engine.card.window:
        raise DataError(f"{footage.describe_path()} has {len(footage)} frames, fewer than the engine's window of "
                        f"{engine.card.window}")
    return footage_dataset(footage, labels, engine.card.class_names, engine.card.palette)


def evaluate_footage(request: FootageRequest, footage: Footage, latency_options: dict[str, Any],
                     streaming: bool = True, forecast: str = "none", progress: ProgressBars | None = None,
                     notice: Callable[[str], None] = lambda text: None) -> EvalReport:
    """Score the engine on footage against the reference: ``flame-eval``'s report plus its two blocks.

    Args:
        request: engine, reference and cache.
        footage: from :func:`flame.media.open_footage`.
        latency_options: ``latency_ms``, ``latency_from``, ``stat``, ``extra_ms``, ``samples``, ``warmup`` as
            :func:`flame.apps.assess.choose_latency` takes them.
        streaming, forecast: as for :func:`flame.apps.assess.evaluate_engine`.
        progress: ``progress(description)`` opens a progress display and gives its ``(done, total)``
            callback (one while the reference labels the footage, one while scoring).
        notice: receives one-line notes (the footage, the cache).

    Raises:
        FlameError: on bad footage, a mismatched reference, or footage too short for k and the window.
    """
    with open_footage_engine(request) as engine:
        notice(f"footage: {footage.describe()}")
        bars = progress or _no_progress
        labels, reference, folder, reused = label_footage(request, engine, footage, bars)
        notice(f"reference labels {'read from' if reused else 'written to'} {folder}")
        dataset = footage_data(engine, footage, labels)
        if latency_options.get("latency_ms") is None and latency_options.get("latency_from") is None:
            notice(f"measuring latency: {latency_options.get('warmup', 5)} warm-up calls, then "
                   f"{latency_options.get('samples', 50)} frames of the footage")
        latency = choose_latency(engine, dataset, force=request.force, **latency_options)
        with bars("scoring") as step:
            report = evaluate_engine(engine, dataset, latency, streaming, True, step, forecast)
    blocks = footage_report_blocks(footage, reference, folder, reused)
    report.reference, report.footage = blocks["reference"], blocks["footage"]
    report.dataset = footage.describe_path()
    return report


@contextmanager
def _no_progress(description: str) -> Iterator[Progress]:
    yield lambda done, total: None


def default_cache_root(json_out: str | os.PathLike | None) -> Path:
    """Where reference labels are cached: beside the report (``--json``), else in the current folder."""
    return (Path(json_out).parent if json_out else Path(".")) / "flame-reference"
