"""Make the documentation's pictures from a quick demo run (not by hand).

    python docs/make_images.py [--work DIR] [--demo DIR]

Runs ``flame-demo --quick`` (or takes a finished ``flame-demo`` folder with ``--demo``: README's figures come
from the full demo, so its picture should too), then ``flame-run`` with its static engine on a larger
rendered sequence (for an overlay frame) and ``flame-bench`` on its static checkpoint, and writes into ``docs/images/``:
``flame_vs_latency.png`` (the demo's plot, also README's picture), ``overlay.png`` (a frame of flame-run's
overlay), ``street.png`` (a frame of the street world beside its labels) and ``bench_choice.png``
(flame-bench's plot). A few minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

IMAGES = Path(__file__).resolve().parent / "images"
#: README and the site show the pictures at this width at most; a smaller file keeps the repository small.
MAX_WIDTH = 900


def run(*command: str) -> None:
    """Run one FLAME command, stopping this script with its output when it fails."""
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def save_small(image, out: Path) -> None:
    """Write ``image`` as a PNG no wider than :data:`MAX_WIDTH`."""
    height, width = image.shape[:2]
    if width > MAX_WIDTH:
        image = cv2.resize(image, (MAX_WIDTH, round(height * MAX_WIDTH / width)), interpolation=cv2.INTER_AREA)
    if not cv2.imwrite(str(out), image, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise SystemExit(f"could not write {out}")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB)")


def middle_frame(video: Path):
    """The middle frame of a video file."""
    capture = cv2.VideoCapture(str(video))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.set(cv2.CAP_PROP_POS_FRAMES, max(count // 2, 0))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"could not read a frame of {video}")
    return frame


def street_picture() -> None:
    """A street frame beside its labels (Cityscapes colours)."""
    from flame.evaluation.datasets import SyntheticSpec
    from flame.evaluation.datasets.worlds import world

    street = world("street")
    frames, labels = street.render(SyntheticSpec((256, 512), 30.0, 12, 1, 1, 0, "street"), 0, "val")
    colours = street.palette[np.minimum(labels[-1], len(street.palette) - 1)][..., ::-1]  # RGB to BGR
    save_small(np.concatenate([frames[-1], colours], axis=1), IMAGES / "street.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--demo", type=Path, help="a finished flame-demo folder to take the plot and engine from")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="flame-docs-"))
    IMAGES.mkdir(exist_ok=True)
    demo = args.demo or work / "demo"
    if args.demo is None:
        run("flame-demo", "--quick", "--out", str(demo))
    elif not (demo / "report.json").is_file():
        raise SystemExit(f"{demo} holds no finished flame-demo run (no report.json)")
    save_small(cv2.imread(str(demo / "flame_vs_latency.png")), IMAGES / "flame_vs_latency.png")

    # The overlay at a size a reader can see: a rendered sequence larger than the engine's input.
    frames = work / "overlay-data"
    if not frames.exists():
        run("flame-data", "synth", "--out", str(frames), "--world", "street", "--sequences", "1",
            "--val-sequences", "1", "--frames", "16", "--size", "256x512", "--seed", "3")
    sequence = next(p for p in sorted((frames / "val").iterdir()) if p.is_dir())
    overlay = work / "overlay.mp4"
    run("flame-run", "--frames", str(sequence / "frames"), "--fps", "30", "--engine",
        str(demo / "static" / "last.onnx"), "--save", str(overlay))
    save_small(middle_frame(overlay), IMAGES / "overlay.png")

    street_picture()

    bench = work / "bench_choice.png"
    run("flame-bench", str(demo / "static" / "best.pt"), "--formats", "onnx,onnx-int8", "--sizes", "32x64,64x128",
        "--dataset", "folder", "--data-root", str(demo / "data"), "--latency-samples", "10", "--plot", str(bench))
    save_small(cv2.imread(str(bench)), IMAGES / "bench_choice.png")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
