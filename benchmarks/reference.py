"""How well FLAME against reference labels estimates true FLAME, where the truth is known.

On the synthetic video (a label for every frame), a SwiftNet-R18 trained well is the teacher; weaker
engines (the same network trained for fewer steps, and the teacher at half its input size) and the teacher
itself are scored at several latencies, each
twice: against the ground truth (true FLAME) and against the teacher's labels of the same frames, made by
the footage path ``flame-eval --frames DIR --reference TEACHER`` takes (:mod:`flame.evaluation.reference`).
Printed: both at k = 0..4 side by side per engine, and the Spearman rank correlation across the (engine,
latency) pairs of FLAME at each pair's own k. With ``self`` as the reference, the drop at k (1 - FLAME
against the engine's own zero-latency output) is set beside the true drop of a perfect model (the ground
truth delayed by k).

``--students`` also trains the paper's three students (static, future, two-frame at k) on the teacher's
labels of the training frames as footage (``flame-train --dataset frames --teacher``'s path) and scores each
by true FLAME at k on the validation frames.

Usage: python -m benchmarks.reference [--quick] [--students] [--work DIR]   (from the repository root)
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from flame.core.offsets import frame_offset
from flame.evaluation.datasets import SyntheticSpec, load_folder, write_synthetic
from flame.evaluation.datasets.base import SequenceDataset
from flame.evaluation.datasets.footage import footage_dataset
from flame.evaluation.protocols import PredictionSource, PredictorSource, evaluate
from flame.evaluation.reference import Reference, reference_labels
from flame.media import open_footage
from flame.runtime.engines import load_engine

KS = (0, 1, 2, 3, 4)
LATENCIES_MS = (0.0, 30.0, 60.0, 100.0)
FPS = 30.0


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties)."""

    def ranks(values: list[float]) -> np.ndarray:
        order = np.argsort(values, kind="stable")
        out = np.empty(len(values))
        sorted_values = np.asarray(values)[order]
        i = 0
        while i < len(values):
            j = i
            while j + 1 < len(values) and sorted_values[j + 1] == sorted_values[i]:
                j += 1
            out[order[i:j + 1]] = (i + j) / 2.0
            i = j + 1
        return out

    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def train_export(data: Path, out: Path, mode: str, offset: int, iters: int, spec: SyntheticSpec,
                 dataset: str = "folder", teacher: str | None = None) -> Path:
    """A SwiftNet-R18 trained ``iters`` steps and exported to ONNX; returns the ONNX path (reused when there)."""
    from flame.export.exporter import default_output, export_checkpoint
    from flame.trainer.config import TrainOptions
    from flame.trainer.reporting import Reporter
    from flame.trainer.train import train

    best = out / "best.pt"
    if not best.is_file():
        train(TrainOptions(out=str(out), model="swiftnet-r18", mode=mode, offset=offset if mode != "static" else None,
                           dataset=dataset, data_root=str(data), epochs=1, iters_per_epoch=iters, batch_size=8,
                           lr=1e-3, seed=0, workers=0, teacher=teacher, input_size=tuple(spec.size),
                           crop=tuple(spec.size), fps=spec.fps if teacher else None), Reporter())
    onnx = default_output(best, "onnx", False)
    if not onnx.is_file():
        export_checkpoint(best, onnx, "onnx", verify=False)
    return onnx


def half_size(checkpoint: Path, spec: SyntheticSpec) -> Path:
    """The teacher exported at half its input size: a smaller, less accurate engine of the same network."""
    from flame.export.exporter import export_checkpoint

    out = checkpoint.with_name("half.onnx")
    if not out.is_file():
        export_checkpoint(checkpoint, out, "onnx", size=(spec.size[0] // 2, spec.size[1] // 2), verify=False)
    return out


def reference_dataset(val: SequenceDataset, root: Path, teacher: Path | None, engine, cache: Path) -> SequenceDataset:
    """The validation sequences as footage (image folders) labelled by ``teacher`` (None: the engine itself)."""
    sequences = []
    for seq in val.sequences:
        footage = open_footage(frames=root / "val" / seq.name / "frames", fps=val.fps)
        if teacher is None:
            reference = Reference.of_engine("self", engine.path, engine.card)
            labels, _, _ = reference_labels(footage, engine, reference, cache)
        else:
            with load_engine(teacher, device="cpu") as labeler:
                reference = Reference.of_engine("teacher", teacher, labeler.card)
                labels, _, _ = reference_labels(footage, labeler, reference, cache)
        sequences += footage_dataset(footage, labels, val.class_names, val.palette).sequences
    return SequenceDataset("reference", val.class_names, val.palette, sequences, val.fps)


def flame_by_k(dataset: SequenceDataset, source: PredictionSource) -> dict[int, float]:
    result = evaluate(dataset, source, KS)
    return {k: result.flame[k].miou for k in KS}


class Truth(PredictionSource):
    """The ground truth as predictions: a perfect static segmenter."""

    def predict(self, sequence, index):
        return sequence.label(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny training, for a smoke test (figures meaningless)")
    parser.add_argument("--students", action="store_true", help="also train static/future/two-frame students")
    parser.add_argument("--work", type=Path, default=None, help="working folder (reused: trained models are kept)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="flame-reference-"))
    os.environ["FLAME_CACHE_DIR"] = str(work / "cache")  # the students' teacher labels stay in the work folder
    spec = (SyntheticSpec(size=(64, 128), fps=FPS, frames=16, sequences=2, val_sequences=1, seed=0) if args.quick
            else SyntheticSpec(size=(128, 256), fps=FPS, frames=40, sequences=12, val_sequences=3, seed=0))
    strong_iters, weak_iters = (4, 1) if args.quick else (300, 10)
    data = work / "data"
    if not (data / "val").is_dir():
        write_synthetic(spec, data)
    val = load_folder(data, "val")
    teacher = train_export(data, work / "teacher", "static", 0, strong_iters, spec)
    weak = train_export(data, work / "weak", "static", 0, weak_iters, spec)
    small = half_size(work / "teacher" / "best.pt", spec)
    cache = work / "cache"
    rows, true_at_k, ref_at_k = [], [], []
    ref_data = reference_dataset(val, data, teacher, None, cache)
    for name, path in (("teacher", teacher), ("weak", weak), ("half-size", small)):
        with load_engine(path, device="cpu") as engine:
            source = PredictorSource(engine, window=engine.card.window, input_size=tuple(engine.card.input_size))
            truth, against = flame_by_k(val, source), flame_by_k(ref_data, source)
        for latency in LATENCIES_MS:
            if name == "teacher" and latency == 0.0:
                continue  # the teacher against itself at no delay agrees by definition
            k = frame_offset(latency / 1000.0, FPS)
            rows.append((f"{name} @ {latency:g} ms", k, truth, against))
            true_at_k.append(truth[k])
            ref_at_k.append(against[k])
    print("FLAME against the ground truth (true) and against the teacher's labels (ref), k = 0..4, synthetic val")
    print(f"{'engine':<18} {'k':>2}  " + "  ".join(f"true/ref k={k}" for k in KS))
    seen = set()
    for name, k, truth, against in rows:
        engine = name.split(" @ ")[0]
        if engine not in seen:
            seen.add(engine)
            print(f"{engine:<18} {'':>2}  " + "  ".join(f"{truth[j]:.3f}/{against[j]:.3f}" for j in KS))
    print("\nat each (engine, latency)'s own k:")
    for (name, k, _, _), t, r in zip(rows, true_at_k, ref_at_k):
        print(f"  {name:<18} k={k}  true {t:.3f}  against the teacher {r:.3f}")
    print(f"Spearman rank correlation across {len(rows)} (engine, latency) pairs: {spearman(true_at_k, ref_at_k):.3f}")

    perfect = flame_by_k(val, Truth())
    with load_engine(teacher, device="cpu") as engine:
        own = reference_dataset(val, data, None, engine, cache)
        source = PredictorSource(engine, window=engine.card.window, input_size=tuple(engine.card.input_size))
        self_flame = flame_by_k(own, source)
    print("\n'self' reference: the drop at k (1 - FLAME against its own output) and a perfect model's true drop")
    for k in KS:
        print(f"  k={k}: self drop {1 - self_flame[k]:.3f}   perfect model (ground truth delayed by k) "
              f"{1 - perfect[k]:.3f}")
    if args.students:
        students(work, data, teacher, val, spec, 1 if args.quick else strong_iters)


def students(work: Path, data: Path, teacher: Path, val: SequenceDataset, spec: SyntheticSpec, iters: int) -> None:
    """Students trained on the teacher's labels of the training frames (footage), scored by true FLAME at k."""
    import shutil

    footage = work / "train-footage"
    if not footage.is_dir():  # the training sequences as one image folder: footage without labels
        footage.mkdir()
        train = load_folder(data, "train")
        for s, seq in enumerate(train.sequences):
            for i in range(seq.num_frames):
                shutil.copy(data / "train" / seq.name / "frames" / f"{seq.frame_stem(i)}.png",
                            footage / f"{s:03d}_{i:04d}.png")
    k = 2
    print(f"\nstudents trained on the teacher's labels of {footage.name} (no ground truth), true FLAME at k={k}:")
    for mode in ("static", "future", "two-frame"):
        onnx = train_export(footage, work / f"student-{mode}", mode, k, iters, spec, dataset="frames",
                            teacher=str(teacher))
        with load_engine(onnx, device="cpu") as engine:
            source = PredictorSource(engine, window=engine.card.window, input_size=tuple(engine.card.input_size))
            result = evaluate(val, source, (0, k))
        print(f"  {mode:<10} mIoU {result.flame[0].miou:.3f}  FLAME(k={k}) {result.flame[k].miou:.3f}")


if __name__ == "__main__":
    main()
