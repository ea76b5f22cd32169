"""Rendering speed of the street world at 512x1024 on one thread, against the shapes world in the same run.

Each world renders the same number of frames of one sequence at the asked size with OpenCV on one thread;
printed: milliseconds per frame (p50 over repeats), frames per second, and the street's cost as a ratio to
the shapes world's (measured right before it, so a busy machine slows both alike). Goal: >= 30 fps.

Usage: python benchmarks/street_render.py [--size 512x1024] [--frames 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from flame.core.sizes import parse_size
from flame.evaluation.datasets import SyntheticSpec
from flame.evaluation.datasets.worlds import world


def per_frame_ms(name: str, size: tuple[int, int], frames: int, repeats: int) -> float:
    """Median over ``repeats`` of the milliseconds one frame of world ``name`` takes to render."""
    spec = SyntheticSpec(size, 30.0, frames, 1, 1, 0, name)
    render = world(name).render
    render(SyntheticSpec(size, 30.0, 2, 1, 1, 0, name), 0, "val")  # warm-up (imports, caches)
    samples = []
    for repeat in range(repeats):
        start = time.perf_counter()
        render(spec, repeat, "val")
        samples.append((time.perf_counter() - start) * 1000 / frames)
    return float(np.median(samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="512x1024")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    size = parse_size(args.size)
    shapes = per_frame_ms("shapes", size, args.frames, args.repeats)
    street = per_frame_ms("street", size, args.frames, args.repeats)
    print(f"{args.size}, one thread, {args.frames} frames x {args.repeats}:")
    print(f"  shapes world  {shapes:6.1f} ms/frame  {1000 / shapes:6.1f} fps")
    print(f"  street world  {street:6.1f} ms/frame  {1000 / street:6.1f} fps   ({street / shapes:.2f} x shapes)")


if __name__ == "__main__":
    main()
