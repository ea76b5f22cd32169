"""``flame-eval`` as a library call: an :class:`EvalRequest` in, the evaluation report out.

The command parses its options into an :class:`EvalRequest` (one field per
option, same names), calls :func:`evaluate` and prints the report. Which of an
engine, a checkpoint or prediction files is scored, where the latency comes
from, and the files asked for (JSON, plot) are decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flame.apps.events import Events
from flame.core.fit import aspect_notice
from flame.core.errors import ConfigError, param
from flame.evaluation.report import EvalReport


@dataclass
class EvalRequest:
    """Everything ``flame-eval`` is asked; each field is the command option of the same name.

    Attributes:
        engine_path, checkpoint, predictions: what is scored (exactly one).
        card_path: a card JSON for an engine that carries none.
        video, frames_dir, bag, topic: the user's own footage to score the engine on (instead of a data set),
            against ``reference`` (a teacher engine file, or ``self``), its labels cached in ``cache_dir``.
        dataset, data_root, split, fps, max_sequences: the data set (kind, folder, split, frame rate, first N).
        label_ids: predictions are Cityscapes labelIds.
        latency_ms, latency_from: a fixed latency, or a ``flame-run`` report's (default: measured here).
        force: use a report measured on another model.
        latency_stat, extra_latency_ms: the statistic k comes from and the delay added to it.
        forecast: forecast method, its cost charged to the latency.
        streaming: also score streaming FLAME.
        latency_samples, warmup: the latency measurement.
        device: ``cpu``/``cuda``; threads: the backend's threads where it takes a count (0 = its default).
        json_out, plot_out: files to write.
    """

    engine_path: str | None = None
    card_path: str | None = None
    checkpoint: str | None = None
    predictions: str | None = None
    video: str | None = None
    frames_dir: str | None = None
    bag: str | None = None
    topic: str | None = None
    reference: str | None = None
    cache_dir: str | None = None
    dataset: str = "synthetic"
    data_root: str | None = None
    split: str = "val"
    label_ids: bool = False
    latency_ms: float | None = None
    latency_from: str | None = None
    force: bool = False
    latency_stat: str = "p50"
    extra_latency_ms: float = 0.0
    fps: float | None = None
    forecast: str = "none"
    fit: str = "stretch"
    streaming: bool = True
    max_sequences: int | None = None
    latency_samples: int = 50
    warmup: int = 5
    device: str | None = None
    threads: int = 0
    json_out: str | None = None
    plot_out: str | None = None

    def check(self) -> None:
        """Refuse contradictory or bad options before anything is loaded.

        Raises:
            ConfigError: on not exactly one of engine, checkpoint, predictions; an option that does not
                apply to the one chosen; a bad frame rate or fixed latency.
        """
        from flame.core.offsets import check_fps
        from flame.evaluation.scoring import fixed_latency

        chosen = [param(name) for name, value in (("engine", self.engine_path), ("checkpoint", self.checkpoint),
                                                  ("predictions", self.predictions)) if value]
        if len(chosen) != 1:
            raise ConfigError(f"give exactly one of {param('engine')}, {param('checkpoint')} or {param('predictions')}"
                              + (f" (found {', '.join(chosen)})" if chosen else ""))
        if self.fps is not None:
            check_fps(self.fps)
        if self.latency_ms is not None:
            fixed_latency(self.latency_ms, self.extra_latency_ms)  # refuse a bad value before loading anything
        if self.label_ids and not self.predictions:
            raise ConfigError(f"{param('label_ids')} applies to {param('predictions')} only")
        if self.card_path and not self.engine_path:
            raise ConfigError(f"{param('card')} applies to {param('engine')} only")
        footage = f"{param('video')}, {param('frames')} or {param('bag')}"
        if self.reference and not self.footage:
            raise ConfigError(f"{param('reference')} applies to your own footage: give {footage} with it")
        if self.fit != "stretch" and (self.predictions or self.footage):
            raise ConfigError(f"{param('fit')} applies to {param('engine')} and {param('checkpoint')} on a data set")
        if self.footage:
            if not self.engine_path or not self.reference:
                raise ConfigError(f"scoring your own footage needs {param('engine')} and {param('reference')} (a teacher "
                                  "engine or 'self')")
            if self.data_root or self.max_sequences is not None:
                raise ConfigError(f"{param('data_root')} and {param('max_sequences')} apply to data sets, "
                                  f"not to {footage}")

    @property
    def footage(self) -> bool:
        """The user's own footage is scored (``--video``, ``--frames`` or ``--bag``), not a data set."""
        return any((self.video, self.frames_dir, self.bag))


def evaluate(request: EvalRequest, events: Events | None = None) -> EvalReport:
    """Score what ``request`` names with FLAME and write the files it asks for.

    Args:
        request: the evaluation.
        events: receives a note before latency is measured and the scoring progress.

    Returns:
        The evaluation report (:class:`flame.evaluation.report.EvalReport`).

    Raises:
        FlameError: on bad options, data, engine or latency report.
    """
    from flame.evaluation.datasets import open_dataset

    events = events or Events()
    request.check()
    if request.footage:
        report = _score_footage(request, events)
    else:
        if request.checkpoint:
            from flame.core.deps import require_extra

            require_extra("torch")  # before the data set is read
        data = open_dataset(request.dataset, request.data_root, request.split, request.fps)
        data = data.head(request.max_sequences).require_nonempty()
        report = (_score_predictions(request, data, events) if request.predictions
                  else _score_engine(request, data, events))
    if request.json_out:
        report.write(request.json_out)
    if request.plot_out:
        from flame.apps.plots import plot_report

        plot_report(report, request.plot_out, title=report.title)
    return report


def _engine_options(request: EvalRequest) -> dict[str, Any]:
    """The backend options of the engine's kind (a thread count where it takes one)."""
    from flame.runtime.engines import tuning_options

    return tuning_options(request.engine_path, threads=request.threads or None)


def _score_footage(request: EvalRequest, events: Events) -> EvalReport:
    from contextlib import contextmanager
    from pathlib import Path

    from flame.apps.footage_eval import FootageRequest, default_cache_root, evaluate_footage
    from flame.media import open_footage

    @contextmanager
    def bars(description: str):  # the footage's two passes (reference labels, scoring) each get a display
        with events.progress() as progress:
            yield progress or (lambda done, total: None)

    footage = open_footage(video=request.video, frames=request.frames_dir, bag=request.bag, topic=request.topic,
                           fps=request.fps)
    cache = Path(request.cache_dir) if request.cache_dir else default_cache_root(request.json_out)
    footage_request = FootageRequest(request.engine_path, request.reference, cache, request.card_path,
                                     request.device, _engine_options(request), request.force)
    latency_options = dict(latency_ms=request.latency_ms, latency_from=request.latency_from,
                           stat=request.latency_stat, extra_ms=request.extra_latency_ms,
                           samples=request.latency_samples, warmup=request.warmup)
    return evaluate_footage(footage_request, footage, latency_options, request.streaming, request.forecast, bars,
                            events.info)


def _score_predictions(request: EvalRequest, data: Any, events: Events) -> EvalReport:
    from flame.apps.assess import choose_latency
    from flame.apps.forecast import forecast_predictions

    latency_ms = request.latency_ms
    if latency_ms is None and request.latency_from is None:
        latency_ms = 0.0  # no engine to measure: predictions are scored static unless told a latency
    latency = choose_latency(None, data, latency_ms, request.latency_from, request.latency_stat,
                             request.extra_latency_ms)
    with events.progress() as progress:
        return forecast_predictions(data, request.predictions, latency, request.forecast, request.streaming,
                                    request.label_ids, progress)


def _score_engine(request: EvalRequest, data: Any, events: Events) -> EvalReport:
    from flame.apps.assess import choose_latency, evaluate_engine
    from flame.runtime.engines import load_engine

    if request.checkpoint:
        from flame.trainer.reference import load_reference

        engine = load_reference(request.checkpoint, request.device)
    else:
        engine = load_engine(request.engine_path, device=request.device, card=request.card_path,
                             **_engine_options(request))
    with engine:
        notice = aspect_notice(data.sequences[0].window(0, 1, 1).shape[1:3], engine.card.input_size, request.fit)
        if notice:
            events.info(f"notice: {notice}")
        if request.latency_ms is None and request.latency_from is None:
            events.info(f"measuring latency: {request.warmup} warm-up calls, then {request.latency_samples} "
                        f"frames of {data.name}")
        latency = choose_latency(engine, data, request.latency_ms, request.latency_from, request.latency_stat,
                                 request.extra_latency_ms, request.latency_samples, request.warmup, request.force)
        with events.progress() as progress:
            return evaluate_engine(engine, data, latency, request.streaming, bool(request.plot_out), progress,
                                   request.forecast, request.fit)
