"""``flame-data``: make data sets (the synthetic video)."""

from __future__ import annotations

import click

from flame.cli.common import handle_errors
from flame.core.sizes import parse_size
from flame.cli.ui import out, progress_bar
from flame.evaluation.datasets.worlds import WORLDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Data set tools."""


@main.command()
@click.option("--out", "out_dir", type=click.Path(), required=True, help="Folder to write (must be new or empty).")
@click.option("--sequences", type=int, default=12, show_default=True, help="Training sequences.")
@click.option("--val-sequences", type=int, default=3, show_default=True, help="Validation sequences.")
@click.option("--frames", type=int, default=40, show_default=True, help="Frames per sequence.")
@click.option("--size", default="128x256", show_default=True, help="Frame size HxW.")
@click.option("--fps", type=float, default=30.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--world", type=click.Choice(list(WORLDS)), default="shapes", show_default=True,
              help="shapes: textured shapes over a flat background; street: a 3D street seen from a moving car, "
                   "Cityscapes' 19 classes.")
@handle_errors
def synth(out_dir, sequences, val_sequences, frames, size, fps, seed, world):
    """Write the synthetic video data set in the folder layout (train/ and val/)."""
    from flame.evaluation.datasets import SyntheticSpec, write_synthetic

    spec = SyntheticSpec(parse_size(size), fps, frames, sequences, val_sequences, seed, world)
    with progress_bar("rendering sequences") as progress:
        path = write_synthetic(spec, out_dir, progress)
    out.print(f"wrote {sequences} train and {val_sequences} val sequences of {frames} frames "
              f"({size} at {fps:g} fps) to {path}")


if __name__ == "__main__":
    main()
