"""Forecast cost: the ``flow`` and ``dense`` forecasters per frame at 512x1024 on one thread, against the engine.

Frames and label maps are the synthetic video rendered at the size asked for
(moving cars, pedestrians and balls: the segments the forecaster moves). Each
call forecasts frame t's labels one frame ahead from frames t-1 and t; every
call is timed with ``time.perf_counter_ns`` after a warm-up, OpenCV on one
thread. The baseline, measured in the same run: SwiftNet-R18 (random weights)
exported to ONNX FP32 at the same size and run by ONNX Runtime on one thread,
the engine the forecast rides on. Prints p50/p99 of each and the p50 ratio, and
the p50 of each call's process CPU time with its ratio (on a machine shared with
other jobs the one-thread CPU time is the quiet machine's wall time).

``--oracle`` also prints what the forecast buys on the synthetic video with the
ground truth as the predictions (a perfect static segmenter): FLAME at k = 1, 2,
3 without and with the forecast and the share of the FLAME drop recovered,
(FLAME_forecast - FLAME_none) / (mIoU - FLAME_none), for each setting given with
``--oracle-settings`` (comma separated: ``dense:WIDTH`` for the dense forecaster,
``FLOW:WIDTH:SEARCH`` for the segment one), and a ceiling of the segment model: the
same forecaster with each segment moved by its true displacement between t-1
and t (its shape matched against its class in the ground truth of t-1, within
20 pixels, at the labels' size); what it misses is the constant-velocity segment
model itself (acceleration, bounces, occlusions, objects entering the frame).

``--world street`` measures on the street world (the forecast's cost on its frames, and the oracle on its
validation drive); ``--oracle-fps 30,60`` repeats the oracle at each camera rate (k = 1..4 frames);
``--oracle-size`` is the oracle video's frame size (128x256 by default; at that size the street's far
objects are a few pixels whose outlines flicker from frame to frame, which no forecast can follow).

Usage: python benchmarks/forecast.py [--size 512x1024] [--iterations 30] [--warmup 3] [--no-engine]
       [--flow dis-ultrafast] [--width 256] [--search 4] [--dense-width 512] [--world shapes|street]
       [--oracle [--oracle-fps 30,60] [--oracle-size 128x256] [--oracle-settings ...] [--no-ceiling]]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def timed_calls(call, count: int, warmup: int, cpu: list[float] | None = None) -> list[float]:
    """Milliseconds of ``call(n)`` for n = 0..count-1, after ``warmup`` untimed calls.

    ``cpu`` (when given) receives each call's process CPU time: on a machine shared with
    other jobs, a one-thread call's CPU time is what its wall time would be on a quiet one.
    """
    for n in range(warmup):
        call(n)
    samples = []
    for n in range(count):
        start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
        call(n)
        samples.append((time.perf_counter_ns() - start) / 1e6)
        if cpu is not None:
            cpu.append((time.process_time_ns() - start_cpu) / 1e6)
    return samples


def engine_p50(size: tuple[int, int], iterations: int, warmup: int) -> list[float]:
    """Per-call ms of SwiftNet-R18 in ONNX Runtime FP32 on one CPU thread at ``size``."""
    import torch

    from flame.core.card import ModelCard
    from flame.evaluation.datasets.synthetic import CLASS_NAMES, PALETTE
    from flame.export.onnx_export import save_onnx, to_onnx
    from flame.export.parity import parity_windows
    from flame.export.program import export_program
    from flame.runtime.engines import load_engine
    from flame.trainer.deploy import deploy_wrapper
    from flame.trainer.models import build_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    card = ModelCard(architecture="swiftnet-r18", num_classes=len(CLASS_NAMES), class_names=tuple(CLASS_NAMES),
                     palette=tuple(tuple(int(v) for v in c) for c in PALETTE), window=1, input_size=size)
    model = build_model(card.architecture, card.num_classes, card.window).eval()
    graph = to_onnx(export_program(deploy_wrapper(model, card), card), card.replace(backend="onnx"))
    path = save_onnx(graph, Path(tempfile.mkdtemp(prefix="flame-forecast-bench-")) / "swiftnet.onnx")
    frames = parity_windows(card, 1)[0]
    with load_engine(path, device="cpu", threads=1) as engine:
        cpu: list[float] = []
        return timed_calls(lambda _: engine(frames), iterations, warmup, cpu), cpu


def _true_motion_classes():
    """The ``flow`` forecaster with each segment's motion matched on the ground truth of t-1 (the ceiling)."""
    from flame.apps.forecast import ForecastSource
    from flame.runtime.forecast import FlowForecast

    class TrueMotion(FlowForecast):
        previous_labels: np.ndarray | None = None
        segment_class = 0

        def _segment_motion(self, seg, x0, y0, motion, cur, prev):
            # Where the segment's shape best fits its class in the earlier ground truth, within 20 px.
            height, width = self.previous_labels.shape
            h, w = seg.shape
            ax, ay = max(0, x0 - 20), max(0, y0 - 20)
            bx, by = min(width, x0 + w + 20), min(height, y0 + h + 20)
            search = (self.previous_labels[ay:by, ax:bx] == self.segment_class).astype(np.float32)
            if search.shape[0] < h or search.shape[1] < w:
                return 0.0, 0.0
            _, _, best, _ = cv2.minMaxLoc(cv2.matchTemplate(search, seg.astype(np.float32), cv2.TM_SQDIFF))
            return float(x0 - (ax + best[0])), float(y0 - (ay + best[1]))

        def _paste(self, labels, labels_small, motion, cur, prev, gain, out):
            things = self._things
            try:
                for c in things:  # one class at a time, so the match knows the segment's class
                    self._things, self.segment_class = [c], c
                    super()._paste(labels, labels_small, motion, cur, prev, gain, out)
            finally:
                self._things = things

    class TrueMotionSource(ForecastSource):
        def predict_for(self, sequence, index, target):
            if index >= 1:
                self.forecaster.previous_labels = sequence.label(index - 1)
            return super().predict_for(sequence, index, target)

    return TrueMotion, TrueMotionSource


def _forecaster(setting: str, class_names):
    """The forecaster a ``--oracle-settings`` entry names: ``dense:WIDTH`` or ``FLOW:WIDTH:SEARCH``."""
    from flame.runtime.forecast import make_forecaster

    parts = setting.split(":")
    if parts[0] == "dense":
        return make_forecaster("dense", class_names, width=int(parts[1]))
    flow, width, search = parts
    return make_forecaster("flow", class_names, flow=flow, width=int(width), search=int(search))


def oracle(settings: list[str], world: str = "shapes", fps: float = 30.0, size: tuple[int, int] = (128, 256),
           ceiling: bool = True) -> None:
    """Recovered share of the FLAME drop with ground truth as the predictions, per forecast setting.

    The validation video of ``world`` at ``fps`` and ``size`` (the same 40 frames' duration at any rate).
    """
    from flame.apps.forecast import ForecastSource
    from flame.evaluation.datasets.synthetic import SyntheticSpec, load_synthetic
    from flame.evaluation.protocols import PredictionSource, evaluate

    class Truth(PredictionSource):
        def predict(self, sequence, index):
            return sequence.label(index)

    from flame.runtime.forecast import thing_classes

    TrueMotion, TrueMotionSource = _true_motion_classes()
    dataset = load_synthetic("val", SyntheticSpec(size=size, fps=fps, frames=round(40 * fps / 30), world=world))
    offsets = [0, 1, 2, 3, 4]
    none = evaluate(dataset, Truth(), offsets).flame
    miou = none[0].miou
    print(f"\nground truth as predictions on the {world} world's {dataset.name} at {fps:g} fps, "
          f"{size[0]}x{size[1]} "
          f"({len(dataset.sequences)} sequences): mIoU {miou:.4f}, "
          "FLAME without forecast " + ", ".join(f"k={k} {none[k].miou:.4f}" for k in offsets[1:]))
    for setting in settings:
        forecaster = _forecaster(setting, dataset.class_names)
        scores = evaluate(dataset, ForecastSource(Truth(), forecaster), offsets).flame
        shares = [(scores[k].miou - none[k].miou) / (miou - none[k].miou) for k in offsets[1:]]
        print(f"  {setting:<27} FLAME " + ", ".join(f"{scores[k].miou:.4f}" for k in offsets[1:])
              + "  recovered " + ", ".join(f"{share:.1%}" for share in shares))
    if not ceiling:
        return
    # The ceiling: each segment moved by its true displacement, found on the ground truth of t-1.
    ceiling = TrueMotion(things=thing_classes(dataset.class_names))
    scores = evaluate(dataset, TrueMotionSource(Truth(), ceiling), offsets).flame
    shares = [(scores[k].miou - none[k].miou) / (miou - none[k].miou) for k in offsets[1:]]
    print(f"  {'ceiling: true segment motion':<27} FLAME " + ", ".join(f"{scores[k].miou:.4f}" for k in offsets[1:])
          + "  recovered " + ", ".join(f"{share:.1%}" for share in shares))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512x1024", help="frame and label HxW")
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--flow", default="dis-ultrafast")
    parser.add_argument("--width", type=int, default=256, help="the forecaster's working width")
    parser.add_argument("--search", type=int, default=4, help="the segment colour-match radius")
    parser.add_argument("--no-engine", action="store_true", help="skip the SwiftNet-R18 baseline (no torch needed)")
    parser.add_argument("--oracle", action="store_true", help="also the recovered share on the synthetic video")
    parser.add_argument("--world", default="shapes", help="the synthetic world (shapes or street)")
    parser.add_argument("--oracle-fps", default="30", help="comma-separated camera rates of the oracle video")
    parser.add_argument("--dense-width", type=int, default=512, help="the dense forecaster's working width")
    parser.add_argument("--oracle-size", default="128x256", help="HxW of the oracle video")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the segment model's ceiling in the oracle")
    parser.add_argument("--oracle-settings", default="dense:512,dis-ultrafast:256:4,farneback:256:4")
    args = parser.parse_args()

    from flame.core.sizes import parse_size
    from flame.evaluation.datasets.synthetic import SyntheticSpec
    from flame.evaluation.datasets.worlds import world
    from flame.runtime.forecast import make_forecaster

    cv2.setNumThreads(1)
    size = parse_size(args.size)
    spec = SyntheticSpec(size=size, frames=args.iterations + args.warmup + 1, sequences=1, val_sequences=1,
                         world=args.world)
    chosen = world(args.world)
    CLASS_NAMES = list(chosen.class_names)
    frames, labels = chosen.render(spec, 0, "val")
    interval = 1.0 / spec.fps
    print(f"forecast of {size[0]}x{size[1]} labels of the {args.world} world one frame ahead, OpenCV {cv2.__version__} on "
          f"{cv2.getNumThreads()} thread, {args.iterations} timed calls after {args.warmup} warm-up calls")
    rows = []
    for name, options in (("none", {}), ("flow", {"flow": args.flow, "width": args.width, "search": args.search}),
                          ("dense", {"width": args.dense_width})):
        forecaster = make_forecaster(name, CLASS_NAMES, **options)
        cpu: list[float] = []
        samples = timed_calls(lambda n: forecaster(labels[n + 1], frames[n + 1], frames[n], interval, interval),
                              args.iterations, args.warmup, cpu)
        label = {"none": "none", "flow": f"flow ({args.flow}, width {args.width}, search {args.search})",
                 "dense": f"dense (DIS fast, width {args.dense_width})"}[name]
        rows.append((label, samples, cpu))
    if not args.no_engine:
        rows.append(("engine: SwiftNet-R18 ONNX Runtime FP32, 1 thread", *engine_p50(size, 5, 1)))
    baseline = float(np.percentile(rows[-1][1], 50)) if not args.no_engine else None
    baseline_cpu = float(np.percentile(rows[-1][2], 50)) if not args.no_engine else None
    print(f"{'':<52} {'p50 ms':>8} {'p99 ms':>8} {'p50 / engine':>13} {'cpu p50 ms':>11} {'cpu / engine':>13}")
    for label, samples, cpu in rows:
        p50, p99 = np.percentile(samples, [50, 99])
        cpu50 = float(np.percentile(cpu, 50))
        ratio = f"{p50 / baseline:13.3f}" if baseline else f"{'-':>13}"
        cpu_ratio = f"{cpu50 / baseline_cpu:13.3f}" if baseline_cpu else f"{'-':>13}"
        print(f"{label:<52} {p50:8.2f} {p99:8.2f} {ratio} {cpu50:11.2f} {cpu_ratio}")
    if args.oracle:
        for fps in args.oracle_fps.split(","):
            oracle(args.oracle_settings.split(","), args.world, float(fps), parse_size(args.oracle_size),
                   not args.no_ceiling)


if __name__ == "__main__":
    main()
