"""Engine latency: torch eager against the exported artifacts, end to end per call.

SwiftNet-R18 (random weights: latency does not depend on them) at 512x1024
by default. Each backend gets a rendered uint8 BGR window in host memory and
returns the label map in host memory; every call is timed with
``time.perf_counter_ns`` after a warm-up (CUDA backends synchronise inside
the call). Prints mean, p50 and p99 in ms and the p50 ratio to torch eager.

CPU backends: torch eager (the ``flame.trainer.predict`` reference), the
``.pt2`` program, ONNX Runtime FP32 and FP16. Where CUDA exists: the torch
CUDA FP16 engine (``.pt2`` under autocast), the cuda-bindings buffer path
(pinned host -> device copy of the window, device -> pinned host copy of the
labels: the transfers of the TensorRT engine), and TensorRT FP16 plans
(plain and with CUDA graph replay) where TensorRT is installed.

Usage: python benchmarks/engines.py [--size 512x1024] [--iterations 20] [--warmup 3]
       [--window 1] [--threads N] [--json OUT]
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
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    import torch

    from flame.cli.common import parse_size
    from flame.evaluation.datasets.synthetic import CLASS_NAMES, PALETTE
    from flame.export.formats import EXPORT_FORMATS
    from flame.export.fp16 import convert_to_fp16
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
    folder = Path(tempfile.mkdtemp(prefix="flame-bench-"))
    print(f"SwiftNet-R18, input {args.window}x{size[0]}x{size[1]}x3 uint8, {args.iterations} timed calls after "
          f"{args.warmup} warm-up calls; torch {torch.__version__}, {torch.get_num_threads()} CPU threads")

    started = time.perf_counter()
    program = export_program(deploy_wrapper(model, card), card)
    pt2 = save_program(program, card.replace(backend=EXPORT_FORMATS["torch"].backend), folder / "swiftnet.pt2")
    graph = to_onnx(program, card.replace(backend="onnx"))
    onnx_fp32 = save_onnx(graph, folder / "swiftnet.onnx")
    fp16_graph, _ = convert_to_fp16(graph)
    set_card(fp16_graph, card.replace(backend="onnx", precision="fp16"))
    onnx_fp16 = save_onnx(fp16_graph, folder / "swiftnet.fp16.onnx")
    print(f"exported .pt2, ONNX FP32 and FP16 in {time.perf_counter() - started:.1f} s")

    runs: list[tuple[str, Callable[[], object], Callable[[], None]]] = []
    runs.append(("torch eager (cpu, fp32)", lambda: predict(model, card, frames), lambda: None))
    engines = [(".pt2 (cpu, fp32)", pt2, {"device": "cpu"}),
               ("onnxruntime (cpu, fp32)", onnx_fp32, {"device": "cpu", "threads": args.threads}),
               ("onnxruntime (cpu, fp16)", onnx_fp16, {"device": "cpu", "threads": args.threads})]
    if torch.cuda.is_available():
        engines.append((".pt2 (cuda, fp16 autocast)", pt2, {"device": "cuda", "fp16": True}))
    skipped = []
    try:
        runs_cuda = cuda_buffer_path(frames, size)
        runs.append(("cuda-bindings buffers (copies only)", runs_cuda, lambda: None))
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
        runs.append((name, lambda engine=engine: engine(frames), engine.close))

    results = []
    for name, call, close in runs:
        samples = measure(call, args.iterations, args.warmup)
        close()
        results.append({"backend": name, "mean_ms": statistics.fmean(samples), "p50_ms": percentile(samples, 50),
                        "p99_ms": percentile(samples, 99), "samples": len(samples)})
    eager = results[0]["p50_ms"]
    print(f"\n{'backend':38s} {'mean ms':>9s} {'p50 ms':>9s} {'p99 ms':>9s} {'p50 vs eager':>13s}")
    for row in results:
        row["ratio_to_eager"] = row["p50_ms"] / eager
        print(f"{row['backend']:38s} {row['mean_ms']:9.1f} {row['p50_ms']:9.1f} {row['p99_ms']:9.1f} "
              f"{row['ratio_to_eager']:12.2f}x")
    for line in skipped:
        print(f"skipped {line}")
    if args.json:
        Path(args.json).write_text(json.dumps({"size": list(size), "window": args.window, "results": results,
                                               "skipped": skipped}, indent=2) + "\n")


if __name__ == "__main__":
    main()
