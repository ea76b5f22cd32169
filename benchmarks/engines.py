"""Engine latency: torch eager against the exported artifacts, end to end per call.

SwiftNet-R18 (random weights: latency does not depend on them) at 512x1024
by default. Each backend gets a rendered uint8 BGR window in host memory and
returns the label map in host memory; every call is timed with
``time.perf_counter_ns`` after a warm-up (CUDA backends synchronise inside
the call). Prints mean, p50 and p99 in ms and the p50 ratio to torch eager.

CPU backends: torch eager (the ``flame.trainer.predict`` reference), the
``.pt2`` program, ONNX Runtime FP32, FP16 and INT8 (both flavours of
``flame.export.int8``, calibrated on rendered training windows); the INT8
(cpu target) speed-up over ONNX Runtime FP32 is printed with its pixel
agreement with FP32 on rendered validation windows. So that the agreement
means something, the random network is first *sharpened* (BatchNorm
statistics re-estimated on rendered frames, the classifier fitted by ridge
least squares to their labels): a random network's logits are near ties.
The speed-up is timed with the two engines called in alternation, so that a
load change on a shared machine hits both alike; ``--int8-only`` runs just
that comparison. ``--int8-ends`` also quantises each graph end that the export keeps float, one
at a time, and prints what keeping it costs in latency and agreement. Where CUDA exists: the torch
CUDA FP16 engine (``.pt2`` under autocast), the cuda-bindings buffer path
(pinned host -> device copy of the window, device -> pinned host copy of the
labels: the transfers of the TensorRT engine), and TensorRT FP16 plans
(plain and with CUDA graph replay) where TensorRT is installed.

Usage: python benchmarks/engines.py [--size 512x1024] [--iterations 20] [--warmup 3]
       [--window 1] [--threads N] [--calib-frames 32] [--int8-ends | --int8-only] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np



def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile of a list."""
    return float(np.percentile(np.asarray(values), q))


def measure(call: Callable[[], object], iterations: int, warmup: int) -> list[float]:
    """Milliseconds of each of ``iterations`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def interleaved(a: Callable[[], object], b: Callable[[], object], iterations: int,
                warmup: int) -> tuple[list[float], list[float]]:
    """Milliseconds of ``a`` and ``b`` timed in alternation (a b, b a, a b...), so that a load change on a
    shared machine hits both alike and their ratio stays meaningful."""
    for _ in range(warmup):
        a()
        b()
    times: dict[int, list[float]] = {0: [], 1: []}
    for i in range(iterations):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            start = time.perf_counter_ns()
            (a, b)[which]()
            times[which].append((time.perf_counter_ns() - start) / 1e6)
    return times[0], times[1]


def rendered(card, split: str, count: int, sequences: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` windows (and their last frame's labels) spread over rendered sequences of a split."""
    from flame.evaluation.datasets.synthetic import SyntheticSpec, render_sequence

    per = -(-count // sequences)
    spec = SyntheticSpec(size=tuple(card.input_size), fps=card.fps, frames=card.window + 3 * per, seed=0)
    windows, labels = [], []
    for index in range(sequences):
        video, truth = render_sequence(spec, index, split)
        for t in range(card.window - 1, spec.frames, 3):
            windows.append(video[t - card.window + 1:t + 1])
            labels.append(truth[t])
    return np.stack(windows[:count]), np.stack(labels[:count])


def agreement(engine, expected: list[np.ndarray], windows: np.ndarray) -> float:
    """Fraction of pixels whose label matches ``expected``."""
    same = sum(int(np.count_nonzero(engine(w) == e)) for w, e in zip(windows, expected))
    return same / sum(e.size for e in expected)


def cuda_buffer_path(frames: np.ndarray, labels_shape: tuple[int, int]) -> Callable[[], np.ndarray]:
    """A round trip through cuda-bindings pinned and device buffers (no compute)."""
    from flame.runtime.engines import cudart

    cudart.require_device(0)
    stream = cudart.Stream()
    host_in = cudart.HostBuffer(frames.shape, np.uint8)
    host_out = cudart.HostBuffer(labels_shape, np.uint8)
    dev_in, dev_out = cudart.DeviceBuffer(host_in.nbytes), cudart.DeviceBuffer(host_out.nbytes)

    def call() -> np.ndarray:
        np.copyto(host_in.array, frames)
        dev_in.upload(host_in, stream)
        dev_out.download(host_out, stream)
        stream.synchronize()
        return host_out.array.copy()

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="512x1024", help="input HxW (multiples of 32)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--window", type=int, default=1, help="input frames T")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch and ONNX Runtime (0 = default)")
    parser.add_argument("--calib-frames", type=int, default=32, help="INT8 calibration windows")
    parser.add_argument("--int8-ends", action="store_true",
                        help="also measure the cost of keeping each graph end float in INT8")
    parser.add_argument("--int8-only", action="store_true",
                        help="only ONNX Runtime FP32 against INT8 (cpu target), timed in alternation")
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    import torch

    from flame.apps.sharpen import sharpen
    from flame.core.sizes import parse_size
    from flame.evaluation.datasets.synthetic import CLASS_NAMES, PALETTE
    from flame.export.formats import EXPORT_FORMATS
    from flame.export.fp16 import convert_to_fp16
    from flame.export.graph_ends import ENDS
    from flame.export.int8 import quantize_int8
    from flame.export.onnx_export import save_onnx, set_card, to_onnx
    from flame.export.parity import parity_windows
    from flame.export.program import export_program, save_program
    from flame.trainer.deploy import deploy_wrapper
    from flame.runtime.engines import load_engine
    from flame.runtime.engines.tensorrt import missing_for_tensorrt
    from flame.core.card import ModelCard
    from flame.trainer.models import build_model
    from flame.trainer.predict import predict

    size = parse_size(args.size)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    card = ModelCard(architecture="swiftnet-r18", num_classes=len(CLASS_NAMES), class_names=tuple(CLASS_NAMES),
                     palette=tuple(tuple(int(v) for v in c) for c in PALETTE), window=args.window, input_size=size)
    model = build_model(card.architecture, card.num_classes, card.window).eval()
    frames = parity_windows(card, 1)[0]
    started = time.perf_counter()
    calibration, calibration_labels = rendered(card, "train", args.calib_frames, sequences=4)
    sharpen(model, card, calibration[:4], calibration_labels[:4])
    checks, _ = rendered(card, "val", 8, sequences=2)
    print(f"rendered {len(calibration)} calibration and {len(checks)} check windows, sharpened the network "
          f"in {time.perf_counter() - started:.1f} s")
    folder = Path(tempfile.mkdtemp(prefix="flame-bench-"))
    print(f"SwiftNet-R18, input {args.window}x{size[0]}x{size[1]}x3 uint8, {args.iterations} timed calls after "
          f"{args.warmup} warm-up calls; torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    started = time.perf_counter()
    program = export_program(deploy_wrapper(model, card), card)
    pt2 = save_program(program, card.replace(backend=EXPORT_FORMATS["torch"].backend), folder / "swiftnet.pt2")
    graph = to_onnx(program, card.replace(backend="onnx"))
    onnx_fp32 = save_onnx(graph, folder / "swiftnet.onnx")
    if not args.int8_only:
        fp16_graph, _ = convert_to_fp16(graph)
        set_card(fp16_graph, card.replace(backend="onnx", precision="fp16"))
        onnx_fp16 = save_onnx(fp16_graph, folder / "swiftnet.fp16.onnx")
    print(f"exported .pt2, ONNX FP32 and FP16 in {time.perf_counter() - started:.1f} s")
    int8_paths = {}
    variants = [("cpu", ENDS)] if args.int8_only else [("cpu", ENDS), ("tensorrt", ENDS)]
    if args.int8_ends:
        variants += [("cpu", tuple(e for e in ENDS if e != end)) for end in ENDS]
    for target, keep in variants:
        started = time.perf_counter()
        quantized = quantize_int8(graph, list(calibration), target, keep)
        released = [e for e in ENDS if e not in keep]
        name = f"swiftnet.int8-{target}{''.join('-' + e for e in released)}.onnx"
        set_card(quantized.model, card.replace(backend="onnx", precision="int8"))
        int8_paths[(target, tuple(released))] = save_onnx(quantized.model, folder / name)
        print(f"INT8 ({target} target{', ' + released[0] + ' quantised' if released else ''}): "
              f"{quantized.quantize_nodes} QuantizeLinear nodes, {time.perf_counter() - started:.1f} s")

    runs: list[tuple[str, Callable[[], object], Callable[[], None], object]] = []
    cpu = {"device": "cpu", "threads": args.threads}
    if args.int8_only:
        int8_main(args, card, frames, checks, onnx_fp32, int8_paths[("cpu", ())],
                  [np.asarray(predict(model, card, w)) for w in checks], load_engine)
        return
    runs.append(("torch eager (cpu, fp32)", lambda: predict(model, card, frames), lambda: None, None))
    engines = [(".pt2 (cpu, fp32)", pt2, {"device": "cpu"}),
               ("onnxruntime (cpu, fp32)", onnx_fp32, cpu),
               ("onnxruntime (cpu, fp16)", onnx_fp16, cpu)]
    for (target, released), path in int8_paths.items():
        label = f"onnxruntime (cpu, int8 {target}" + "".join(f", {e} int8" for e in released) + ")"
        engines.append((label, path, {"device": "cpu", "threads": args.threads}))
    if torch.cuda.is_available():
        engines.append((".pt2 (cuda, fp16 autocast)", pt2, {"device": "cuda", "fp16": True}))
    skipped = []
    try:
        runs_cuda = cuda_buffer_path(frames, size)
        runs.append(("cuda-bindings buffers (copies only)", runs_cuda, lambda: None, None))
    except Exception as exc:  # DependencyError without cuda-bindings or a GPU
        skipped.append(f"cuda-bindings buffer path: {exc}")
    missing = missing_for_tensorrt()
    if not missing:
        from flame.export.tensorrt_build import build_plan

        plan = folder / "swiftnet.fp16.plan"
        build_plan(graph, plan, card.replace(backend="onnx"), fp16=True, timing_cache=folder / "trt.cache")
        engines.append(("tensorrt (fp16)", plan, {}))
        engines.append(("tensorrt (fp16, cuda graph)", plan, {"cuda_graph": True}))
    else:
        skipped.append("tensorrt: " + "; ".join(missing))
    for name, path, options in engines:
        engine = load_engine(path, **options)
        runs.append((name, lambda engine=engine: engine(frames), engine.close, engine))

    expected = [np.asarray(predict(model, card, w)) for w in checks]
    results = []
    for name, call, close, engine in runs:
        samples = measure(call, args.iterations, args.warmup)
        agree = agreement(engine, expected, checks) if engine is not None and engine.card.output == "labels" else None
        close()
        results.append({"backend": name, "mean_ms": statistics.fmean(samples), "p50_ms": percentile(samples, 50),
                        "p99_ms": percentile(samples, 99), "samples": len(samples), "agreement": agree})
    eager = results[0]["p50_ms"]
    print(f"\n{'backend':50s} {'mean ms':>9s} {'p50 ms':>9s} {'p99 ms':>9s} {'p50 vs eager':>13s} {'agreement':>10s}")
    for row in results:
        row["ratio_to_eager"] = row["p50_ms"] / eager
        agree = "-" if row["agreement"] is None else f"{100 * row['agreement']:.2f}%"
        print(f"{row['backend']:50s} {row['mean_ms']:9.1f} {row['p50_ms']:9.1f} {row['p99_ms']:9.1f} "
              f"{row['ratio_to_eager']:12.2f}x {agree:>10s}")
    by_name = {row["backend"]: row for row in results}
    int8 = by_name["onnxruntime (cpu, int8 cpu)"]
    speedup = int8_ratio(args, frames, onnx_fp32, int8_paths[("cpu", ())], int8["agreement"], load_engine)
    if args.int8_ends:
        print("cost of keeping each end float (INT8 cpu target with that end quantised instead):")
        for end in ENDS:
            row = by_name[f"onnxruntime (cpu, int8 cpu, {end} int8)"]
            print(f"  {end:14s} p50 {row['p50_ms'] - int8['p50_ms']:+7.1f} ms when quantised, agreement "
                  f"{100 * (row['agreement'] - int8['agreement']):+.2f} points")
    for line in skipped:
        print(f"skipped {line}")
    if args.json:
        Path(args.json).write_text(json.dumps({"size": list(size), "window": args.window, "results": results,
                                               "int8_speedup": speedup, "int8_agreement": int8["agreement"],
                                               "skipped": skipped}, indent=2) + "\n")


def int8_ratio(args, frames: np.ndarray, fp32_path: Path, int8_path: Path, agreement: float, load_engine) -> float:
    """ONNX Runtime FP32 and INT8 (cpu target) timed in alternation; prints and returns the p50 speed-up."""
    options = {"device": "cpu", "threads": args.threads}
    with load_engine(fp32_path, **options) as fp32, load_engine(int8_path, **options) as int8:
        fp32_ms, int8_ms = interleaved(lambda: fp32(frames), lambda: int8(frames), args.iterations, args.warmup)
    speedup = percentile(fp32_ms, 50) / percentile(int8_ms, 50)
    print(f"\nINT8 (cpu target) vs ONNX Runtime FP32, timed in alternation ({args.iterations} calls each), p50: "
          f"{speedup:.2f}x faster ({percentile(int8_ms, 50):.1f} ms against {percentile(fp32_ms, 50):.1f} ms); "
          f"pixel agreement with PyTorch {100 * agreement:.2f}% (expected >= 2x and >= 97%)")
    return speedup


def int8_main(args, card, frames, checks, fp32_path, int8_path, expected, load_engine) -> None:
    """``--int8-only``: the agreement of INT8 with PyTorch, then the alternating FP32/INT8 timing."""
    with load_engine(int8_path, device="cpu", threads=args.threads) as engine:
        agree = agreement(engine, expected, checks)
    speedup = int8_ratio(args, frames, fp32_path, int8_path, agree, load_engine)
    if args.json:
        Path(args.json).write_text(json.dumps({"size": list(card.input_size), "window": args.window,
                                               "int8_speedup": speedup, "int8_agreement": agree}, indent=2) + "\n")


if __name__ == "__main__":
    main()
