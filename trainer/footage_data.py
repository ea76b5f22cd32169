"""Training data from unlabelled footage: a teacher labels every frame, the student learns S_{t+k}.

``flame-train --dataset video|bag|frames --data-root PATH --teacher TEACHER``: the teacher (any engine file
``flame-run`` accepts) labels every frame once, offline, with no latency; those labels, and the frames
decoded at the teacher's input size, are cached under ``$FLAME_CACHE_DIR/footage`` (``~/.cache/flame``), so a
second run on the same footage and teacher starts at once. The first 80% of the frames train, the last
20% validate (one recording, split in time, so validation sees frames the training did not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from pathlib import Path

from flame.core.errors import ConfigError, DataError, param
from flame.evaluation.datasets.base import ArraySequence, SequenceDataset, check_names
from flame.evaluation.datasets.synthetic import cache_root
from flame.evaluation.reference import Reference, cache_folder, is_cached, reference_labels
from flame.media import FOOTAGE_KINDS, interval_stats, open_footage
from flame.media.frame_cache import decoded_frames
from flame.runtime.engines import load_engine

#: ``--dataset`` values read from footage with a teacher.
FOOTAGE_DATASETS = tuple(FOOTAGE_KINDS)
#: Share of the frames that train; the rest validate.
TRAIN_SHARE = 0.8


@dataclass(frozen=True)
class FootageSpec:
    """Where footage training data comes from."""

    kind: str
    root: str
    teacher: str
    topic: str | None = None
    fps: float | None = None


def open_footage_data(spec: FootageSpec, info: Callable[[str], None] = lambda text: None
                      ) -> tuple[SequenceDataset, SequenceDataset, str]:
    """(train, validation, a note) from footage labelled by the teacher; ``info`` hears what is about to take long.

    Raises:
        ConfigError: when the teacher is missing or a folder.
        DataError: when the footage is too short to split.
        SourceError, EngineError: when the footage or the teacher cannot be read.
    """
    if not spec.teacher:
        raise ConfigError(f"{param('dataset')} {spec.kind} has no labels of its own: give {param('teacher')} ENGINE to label it")
    teacher_path = Path(spec.teacher)
    if teacher_path.is_dir():
        raise ConfigError(f"teacher {teacher_path} is a folder: give the teacher's engine file", parameter="teacher")
    footage = open_footage(**{spec.kind: spec.root}, topic=spec.topic, fps=spec.fps)
    cache = cache_root() / "footage"
    with load_engine(teacher_path) as teacher:
        card = teacher.card
        reference = Reference.of_engine("teacher", teacher_path, card)
        if not is_cached(cache_folder(cache, reference, footage)):
            # Labelling hours of footage takes a while: say what is happening before it starts.
            info(f"footage: {footage.describe()}; the teacher {teacher_path.name} labels every frame once "
                 f"(cached in {cache})")
        labels, _, _ = reference_labels(footage, teacher, reference, cache)
    frames = decoded_frames(footage, tuple(card.input_size), cache)
    times = footage.timestamps()
    total = len(footage)
    cut = int(total * TRAIN_SHARE)
    if cut < 2 or total - cut < 2:
        raise DataError(f"{footage.describe_path()} has {total} frames: too few to split into training and "
                        "validation frames (at least 10)")
    palette = check_names(card.class_names, card.palette)
    fps = interval_stats(times).fps or 30.0

    def split(name: str, first: int, last: int) -> SequenceDataset:
        sequence = ArraySequence(f"{footage.path.name}[{first}:{last}]", frames[first:last], labels[first:last],
                                 fps, times[first:last] - times[first])
        return SequenceDataset(f"{footage.describe_path()} ({name})", list(card.class_names), palette, [sequence], fps)

    note = (f"training on frames 0..{cut - 1} and validating on {cut}..{total - 1} of {footage.describe_path()} "
            f"against the teacher's labels ({teacher_path.name}), not ground truth")
    return split("train", 0, cut), split("val", cut, total), note
