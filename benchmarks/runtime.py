"""flame-run's own cost per frame, and a memory soak.

1. The runtime's own work: end-to-end latency (frame in host memory -> labels
   in host memory) minus the frame's wait for a busy engine and the engine call
   (the report's ``runtime_ms``), for a 768x576 engine input, through the real
   path (video file -> reader thread -> Stream -> ONNX Runtime engine). Cases:
   one-frame model with frames already at the input size (the target: p50 at
   most 1.5 ms), a two-frame model (ring lookup + copy of both frames into the
   input buffer), a 1280x720 source resized to the input, and the same video
   paced in real time at 30 fps (adds the wake-up when a frame "arrives").
2. Soak: 5,000 frames through a small engine; resident memory sampled along
   the way, growth after warm-up must stay under 20 MB.

Prints figures and ratios; asserts nothing. The machine load is printed too:
on a busy machine the overhead figures are noisy. Usage:
python -m benchmarks.runtime [--frames 300] [--soak 5000]   (from the repository root)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import psutil

from flame.runtime.engines import load_engine
from flame.runtime.sources import VideoSource
from flame.runtime.stream import Stream
from tests.flame_testing.tiny_engines import write_tiny_onnx  # a hand-built ONNX graph shared with the tests

INPUT = (576, 768)  # (H, W)


def textured_video(path: Path, frames: int, size: tuple[int, int], fps: float = 30.0) -> Path:
    """A video of moving noise texture (so the codec does real work)."""
    height, width = size
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8), (width + 64, height),
                      interpolation=cv2.INTER_LINEAR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for i in range(frames):
        writer.write(np.ascontiguousarray(base[:, i % 64: i % 64 + width]))
    writer.release()
    return path


def overhead_case(name: str, engine_path: Path, video: Path, realtime: bool = False) -> dict:
    """Run one case; returns its summary."""
    with load_engine(engine_path, device="cpu") as engine, VideoSource(video, realtime=realtime) as source:
        result = Stream(engine, source, warmup=10).run()
    s = result.summary()
    o, w, e, lat = s["runtime_ms"], s["wait_ms"], s["engine_ms"], s["latency_ms"]
    print(f"  {name:<38} runtime p50 {o['p50']:6.3f}  p90 {o['p90']:6.3f}  mean {o['mean']:6.3f} ms | "
          f"wait p50 {w['p50']:6.2f} | engine p50 {e['p50']:6.2f} | latency p50 {lat['p50']:6.2f} ms | "
          f"{s['frames_processed']}/{s['frames_captured']} frames | runtime/latency {o['p50'] / lat['p50']:.1%}")
    return s


class RssProbe:
    """An output sampling resident memory every ``every`` frames."""

    def __init__(self, every: int = 500) -> None:
        self.every = every
        self.samples: list[tuple[int, float]] = []
        self.process = psutil.Process()

    def __call__(self, result) -> None:
        n = result.stats.processed
        if n == 1 or n % self.every == 0:
            self.samples.append((n, self.process.memory_info().rss / 2**20))

    def close(self) -> None:
        self.samples.append((-1, self.process.memory_info().rss / 2**20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300, help="frames per overhead case")
    parser.add_argument("--soak", type=int, default=5000, help="frames in the soak")
    args = parser.parse_args()
    load_before = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}; OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one = write_tiny_onnx(tmp / "t1.onnx", 1, INPUT)
        two = write_tiny_onnx(tmp / "t2.onnx", 2, INPUT, fps=15.0)
        native = textured_video(tmp / "native.avi", args.frames, INPUT)
        hd = textured_video(tmp / "hd.avi", args.frames, (720, 1280))
        print(f"runtime's own work = latency - wait for the engine - engine call, engine input {INPUT[1]}x{INPUT[0]}, {args.frames} frames each:")
        main_case = overhead_case("T=1, 768x576 source (target <= 1.5)", one, native)
        overhead_case("T=2, 768x576 source", two, native)
        overhead_case("T=1, 1280x720 source (resize)", one, hd)
        overhead_case("T=1, 768x576 paced at 30 fps", one, native, realtime=True)
        p50 = main_case["runtime_ms"]["p50"]
        print(f"=> runtime's own work p50 {p50:.3f} ms per frame at 768x576: {p50 / 1.5:.0%} of the 1.5 ms budget")

        soak_size = (192, 256)
        print(f"soak: {args.soak} frames of {soak_size[1]}x{soak_size[0]} through a small ONNX engine (offline)")
        start = time.perf_counter()
        soak_video = textured_video(tmp / "soak.avi", args.soak, soak_size)
        small = write_tiny_onnx(tmp / "small.onnx", 2, soak_size, fps=15.0)
        made = time.perf_counter() - start
        probe = RssProbe()
        start = time.perf_counter()
        with load_engine(small, device="cpu") as engine, VideoSource(soak_video) as source:
            result = Stream(engine, source, warmup=10, outputs=[probe]).run()
        took = time.perf_counter() - start
        s = result.summary()
        samples = probe.samples
        after_warmup = next(rss for n, rss in samples if n >= 500)
        end = samples[-1][1]
        print(f"  video written in {made:.1f} s; ran {s['frames_processed']} frames in {took:.1f} s "
              f"({s['fps_out']:.0f} fps), dropped {s['frames_dropped']}")
        print("  RSS MB by frame: " + ", ".join(f"{n if n >= 0 else 'end'}: {rss:.1f}" for n, rss in samples))
        growth = end - after_warmup
        print(f"=> resident memory growth after frame 500: {growth:+.1f} MB (limit 20 MB: {growth / 20:.0%})")
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")


if __name__ == "__main__":
    main()
