"""Scoring protocols over a sequence data set (docs/metric.md).

* static mIoU: F(I_{j-T+1}..I_j) against S_j (offset k = 0);
* FLAME at offset k: F(I_{j-k-T+1}..I_{j-k}) against S_j, one confusion
  matrix over all pairs; a ground-truth frame without enough history is a
  miss (all its valid pixels are false negatives), counted;
* streaming FLAME: one engine taking the newest arrived frame when free,
  running for the measured per-frame latencies; S_j is scored against the
  newest output finished at or before t_j, a miss when none has.

Predictions come from a :class:`PredictionSource`: a predictor callable
(:class:`PredictorSource`) or files made by any framework
(:class:`flame.evaluation.predictions.PredictionFiles`). Each protocol first
plans which frames it needs, then runs the source once per needed frame and
shares that prediction between all offsets and the streaming score.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence as TypingSequence

import cv2
import numpy as np

from flame.core.labels import resize_labels
from flame.core.errors import ConfigError, DataError, param
from flame.evaluation.confusion import ConfusionMatrix
from flame.evaluation.datasets.base import Sequence, SequenceDataset
from flame.evaluation.streaming import EPS, Job, LatencyCycle, assign, schedule

Predictor = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[int, int], None]


class PredictionSource(ABC):
    """Where the prediction made from the window ending at a frame comes from.

    Attributes:
        window: frames of history a prediction needs (T).
    """

    window: int = 1
    #: True when a prediction depends on the frame it is scored against (e.g. forecast to that
    #: frame's time): then :meth:`predict_for` is called once per pair instead of once per frame.
    per_target: bool = False

    @property
    def history(self) -> int:
        """Frames before the current one that a prediction reaches back."""
        return self.window - 1

    @abstractmethod
    def predict(self, sequence: Sequence, index: int) -> np.ndarray:
        """Label map predicted from the window ending at frame ``index``."""

    def predict_for(self, sequence: Sequence, index: int, target: int) -> np.ndarray:
        """Label map from the window ending at ``index``, used at frame ``target`` (>= index)."""
        return self.predict(sequence, index)

    def check_available(self, needed: dict[str, tuple[Sequence, set[int]]]) -> None:
        """Raise before scoring when some needed prediction cannot be had."""


class PredictorSource(PredictionSource):
    """Runs a predictor callable on ``[T, H, W, 3]`` uint8 BGR windows.

    Args:
        predictor: ``frames -> labels``.
        window: frames per input (T).
        step: frame spacing inside the window (1 = consecutive frames).
        input_size: (H, W) the predictor takes; frames of another size are
            resized to it (bilinear) and its labels back to the frame size
            (nearest). None passes frames as they are.
    """

    def __init__(self, predictor: Predictor, window: int = 1, step: int = 1,
                 input_size: tuple[int, int] | None = None) -> None:
        if window < 1 or step < 1:
            raise ConfigError(f"expected window >= 1 and step >= 1, found {window} and {step}")
        self.predictor = predictor
        self.window = window
        self.step = step
        self.input_size = tuple(input_size) if input_size is not None else None

    @property
    def history(self) -> int:
        """Frames before the current one that the window reaches back."""
        return (self.window - 1) * self.step

    def predict(self, sequence: Sequence, index: int) -> np.ndarray:
        frames = sequence.window(index, self.window, self.step)
        size = frames.shape[1:3]
        if self.input_size is None or tuple(size) == self.input_size:
            return np.asarray(self.predictor(frames))
        height, width = self.input_size
        resized = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_LINEAR) for f in frames])
        return resize_labels(np.asarray(self.predictor(resized)), (size[0], size[1]))


@dataclass
class Score:
    """One protocol's result: a confusion matrix and how many pairs made it.

    Attributes:
        confusion: accumulated over every pair.
        pairs: ground-truth frames scored (misses included).
        missed: ground-truth frames scored without a prediction.
        k: the frame offset (None for streaming).
    """

    confusion: ConfusionMatrix
    pairs: int = 0
    missed: int = 0
    k: int | None = None

    @property
    def miou(self) -> float:
        """Mean IoU over classes with a non-empty union."""
        return self.confusion.miou()


@dataclass
class StreamingScore(Score):
    """Streaming FLAME plus what the simulated engine did.

    Attributes:
        processed: frames the engine ran on (runs started by the last ground truth).
        dropped: frames skipped between the first and the last of those runs.
        delays: for each scored pair, j minus the source frame (frames behind).
    """

    processed: int = 0
    dropped: int = 0
    delays: list[int] = field(default_factory=list)

    @property
    def mean_delay(self) -> float:
        """Mean number of frames between the used output's input and S_j."""
        return float(np.mean(self.delays)) if self.delays else float("nan")


@dataclass
class Evaluation:
    """FLAME at each requested offset, and optionally streaming FLAME."""

    flame: dict[int, Score]
    streaming: StreamingScore | None = None

    @property
    def static(self) -> Score | None:
        """The k = 0 score when it was requested."""
        return self.flame.get(0)


def pairs_at_offset(times: np.ndarray, targets: TypingSequence[int], k: int, fps: float,
                    history: int = 0) -> dict[int, int | None]:
    """For each ground-truth frame j, the frame whose output FLAME at offset ``k`` scores against it.

    That is the newest frame i with t_i <= t_j - k / fps: the output of frame i, ready k frame intervals
    after it, is the newest one ready at t_j. On evenly spaced frames i = j - k; on real footage a
    dropped or late frame moves the pairing to the frame the robot really had. None when that frame
    has fewer than ``history`` frames before it (a miss).
    """
    times = np.asarray(times, dtype=np.float64)
    # A nanosecond of tolerance: k / fps is a float, and t_j - k / fps = t_{j-k} exactly on even times.
    found = np.searchsorted(times, times[list(targets)] - k / fps + EPS, side="right") - 1
    return {j: (int(i) if i - history >= 0 else None) for j, i in zip(targets, found)}


def _plan(dataset: SequenceDataset, source: PredictionSource, offsets: TypingSequence[int],
          latencies: LatencyCycle | None) -> list[tuple[Sequence, dict[int, dict[int, int | None]], list[Job] | None]]:
    """For each sequence: {k: {j: source frame or None}} and the streaming runs."""
    history = source.history
    plans = []
    for seq in dataset.sequences:
        if not seq.annotated:
            continue
        times = seq.timestamps()
        per_k = {k: pairs_at_offset(times, seq.annotated, k, seq.fps, history) for k in offsets}
        jobs = None
        if latencies is not None:
            jobs = schedule(times, latencies, history, until=float(times[max(seq.annotated)]))
            per_k[-1] = assign(times, jobs, seq.annotated)
        plans.append((seq, per_k, jobs))
    return plans


def evaluate(dataset: SequenceDataset, source: PredictionSource, offsets: Iterable[int] = (0,),
             latencies_s: TypingSequence[float] | None = None, progress: Progress | None = None) -> Evaluation:
    """Score FLAME at each offset (k = 0 is static mIoU) and optionally streaming FLAME.

    Args:
        dataset: sequences with annotated frames.
        source: where predictions come from.
        offsets: frame offsets k >= 0.
        latencies_s: per-frame latencies in seconds for streaming FLAME
            (used in order, cycling); ``None`` skips it.
        progress: ``(done, total)`` after each prediction made.

    Returns:
        One :class:`Score` per offset, and the streaming score.

    Raises:
        DataError: on an empty data set, missing predictions, bad labels or
            prediction sizes that differ from the labels.
        ConfigError: on a negative offset or bad latencies.
    """
    offsets = sorted(set(int(k) for k in offsets))
    if any(k < 0 for k in offsets):
        raise ConfigError(f"frame offsets must be >= 0, found {offsets}")
    dataset.require_nonempty()
    cycle = LatencyCycle(latencies_s) if latencies_s is not None else None
    plans = _plan(dataset, source, offsets, cycle)

    needed: dict[str, tuple[Sequence, set[int]]] = {}
    for seq, per_k, _ in plans:
        frames = {i for pairs in per_k.values() for i in pairs.values() if i is not None}
        needed[seq.name] = (seq, frames)
    source.check_available(needed)
    if source.per_target:  # one call per (input frame, target frame) pair
        total = sum(len({(i, j) for pairs in per_k.values() for j, i in pairs.items() if i is not None})
                    for _, per_k, _ in plans)
    else:
        total = sum(len(frames) for _, frames in needed.values())

    num_classes = dataset.num_classes
    scores = {k: Score(ConfusionMatrix(num_classes), k=k) for k in offsets}
    streaming = StreamingScore(ConfusionMatrix(num_classes)) if cycle is not None else None
    done = 0
    for seq, per_k, jobs in plans:
        cache: dict = {}  # frame (or (frame, target) pair) -> prediction
        for j in seq.annotated:
            gt = seq.label(j)
            for key, pairs in per_k.items():
                score = streaming if key == -1 else scores[key]
                i = pairs[j]
                score.pairs += 1
                if i is None:
                    score.missed += 1
                    score.confusion.add_miss(gt)
                    continue
                key_i = (i, j) if source.per_target else i
                if key_i not in cache:
                    cache[key_i] = source.predict_for(seq, i, j)
                    done += 1
                    if progress is not None:
                        progress(done, total)
                _update(score.confusion, gt, cache[key_i], seq, i, j)
                if key == -1:
                    streaming.delays.append(j - i)
        if streaming is not None and jobs:
            # Dropped: frames skipped between the first and the last run.
            streaming.processed += len(jobs)
            streaming.dropped += (jobs[-1].frame - jobs[0].frame + 1) - len(jobs)
    return Evaluation(scores, streaming)


def require_history(dataset: SequenceDataset, k: int, history: int = 0) -> None:
    """Refuse an offset no annotated frame of the data set has enough frames before.

    Raises:
        DataError: when every pair at offset ``k`` would be a miss.
    """
    reach = max((j for seq in dataset.sequences for j in seq.annotated), default=-1)
    if reach - k - history < 0:
        raise DataError(
            f"data set {dataset.name} is too short for k = {k}"
            + (f" with a window reaching {history} frame(s) back" if history else "")
            + f": the latest annotated frame is frame {reach} of its sequence, so no prediction can be paired; "
            f"use a data set with longer sequences, a lower latency or a higher {param('fps')}"
        )


def _update(confusion: ConfusionMatrix, gt: np.ndarray, pred: np.ndarray, seq: Sequence, i: int, j: int) -> None:
    try:
        confusion.update(gt, pred)
    except DataError as exc:
        raise DataError(f"sequence {seq.name}, prediction of frame {seq.frame_stem(i)} against "
                        f"label {seq.frame_stem(j)}: {exc.template}") from exc


def static_miou(dataset: SequenceDataset, source: PredictionSource, progress: Progress | None = None) -> Score:
    """Static mIoU: each annotated frame's own prediction (k = 0)."""
    return evaluate(dataset, source, (0,), progress=progress).flame[0]


def flame(dataset: SequenceDataset, source: PredictionSource, k: int, progress: Progress | None = None) -> Score:
    """FLAME at frame offset ``k`` (constant latency, unlimited parallel engines)."""
    return evaluate(dataset, source, (k,), progress=progress).flame[k]


def streaming_flame(dataset: SequenceDataset, source: PredictionSource, latencies_s: TypingSequence[float],
                    progress: Progress | None = None) -> StreamingScore:
    """Streaming FLAME: one engine on a real-time stream with the given latencies."""
    return evaluate(dataset, source, (), latencies_s, progress).streaming  # type: ignore[return-value]
