"""A tiny trained checkpoint and its ONNX export, shared by the application tests."""

from pathlib import Path

import pytest

from flame.evaluation.datasets import SyntheticSpec, write_synthetic

SIZE = (64, 128)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """Synthetic folder data set: 2 train and 2 val sequences of 10 frames at 64x128, 30 fps."""
    spec = SyntheticSpec(size=SIZE, fps=30.0, frames=10, sequences=2, val_sequences=2, seed=3)
    return write_synthetic(spec, tmp_path_factory.mktemp("app") / "data")


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_data, tmp_path_factory) -> Path:
    """SwiftNet-R18, two-frame at k = 1, trained for a few steps in the test."""
    import torch

    from flame.trainer.config import TrainOptions
    from flame.trainer.train import train

    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("app") / "run"
    try:
        train(TrainOptions(out=str(out), model="swiftnet-r18", mode="two-frame", offset=1, dataset="folder",
                           data_root=str(tiny_data), epochs=1, iters_per_epoch=4, batch_size=4, lr=1e-3,
                           crop=SIZE, seed=0, workers=0))
    finally:
        torch.set_num_threads(threads)
    return out / "last.pt"


@pytest.fixture(scope="session")
def tiny_onnx(tiny_checkpoint) -> Path:
    """The checkpoint exported to ONNX (FP32)."""
    from flame.export.exporter import export_checkpoint

    return export_checkpoint(tiny_checkpoint, tiny_checkpoint.with_suffix(".onnx"), "onnx", verify=False).path


@pytest.fixture(scope="session")
def foreign(tmp_path_factory) -> dict:
    """Foreign models as users export them (see foreign_models.py), with a class file of the synthetic video."""
    import foreign_models as fm

    from flame.evaluation.datasets.synthetic import CLASS_NAMES

    root = tmp_path_factory.mktemp("foreign")
    return {"torchvision": fm.torchvision_style(root / "torchvision_seg.onnx"),
            "mmseg": fm.mmseg_style(root / "mmseg_seg.onnx"),
            "argmax": fm.argmax_style(root / "argmax_seg.onnx"),
            "two_frame": fm.two_frame(root / "two_frame_seg.onnx"),
            "classes": fm.write_classes(root / "classes.txt", list(CLASS_NAMES)),
            "root": root}
