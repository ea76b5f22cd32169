"""Artifacts shared by the export and engine tests, built once per test session.

The model is a SwiftNet-R18 with a two-frame window at 64x128 whose logits
have real margins: a random network has near-tied logits, which would make
any FP16 parity figure meaningless, and training it for real takes minutes
on two shared CPUs. So the fixture *sharpens* it deterministically in a few
seconds (:func:`flame.apps.sharpen.sharpen`: BatchNorm statistics re-estimated
on rendered synthetic frames, the classifier fitted by ridge least squares).

The result segments held-out synthetic frames far above chance (checked in
``test_fixture_model_is_sharp``), with median top-1/top-2 logit margins of
several units, so parity tests measure export precision, not tie-breaking.

Imported by ``tests/export/conftest.py`` and by ``tests/runtime/test_engines*.py``
(as ``flame_testing.engine_artifacts``); :func:`artifacts` memoises per
session base folder, so both folders share one set of exports.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIZE = (64, 128)
WINDOW = 2
CLASSES = 5
ARCH = "swiftnet-r18"


def _card():
    from flame.evaluation.datasets.synthetic import CLASS_NAMES, PALETTE
    from flame.core.card import ModelCard

    return ModelCard(architecture=ARCH, num_classes=CLASSES, class_names=tuple(CLASS_NAMES),
                     palette=tuple(tuple(int(v) for v in c) for c in PALETTE), window=WINDOW, offset=1, fps=30.0,
                     input_size=SIZE, mode="two-frame", extra={"fixture": "sharpened random SwiftNet"})


def rendered_windows(split: str, sequences: int, frames: int = 6):
    """``(windows [N, T, H, W, 3] uint8, labels of each window's last frame [N, H, W])``."""
    from flame.evaluation.datasets.synthetic import SyntheticSpec, render_sequence

    spec = SyntheticSpec(size=SIZE, frames=frames, seed=0)
    windows, labels = [], []
    for index in range(sequences):
        video, truth = render_sequence(spec, index, split)
        for t in range(WINDOW - 1, frames):
            windows.append(video[t - WINDOW + 1:t + 1])
            labels.append(truth[t])
    return np.stack(windows), np.stack(labels)


def sharpened_model():
    """A deterministic SwiftNet whose logits separate the synthetic classes (see module docstring)."""
    import torch

    from flame.apps.sharpen import sharpen
    from flame.trainer.models import build_model

    torch.manual_seed(0)
    card = _card()
    model = build_model(ARCH, CLASSES, WINDOW)
    windows, labels = rendered_windows("train", sequences=2)
    sharpen(model, card, windows, labels)
    return model, card


@dataclass
class Artifacts:
    """Paths of the shared artifacts (built lazily, once)."""

    root: Path

    @functools.cached_property
    def checkpoint(self) -> Path:
        from flame.trainer.checkpoint import save_checkpoint

        model, card = sharpened_model()
        return save_checkpoint(self.root / "sharp.pt", {"model": model.state_dict(), "epoch": 0, "card": card.to_dict()})

    @functools.cached_property
    def program(self):
        """``(torch.export program of the deploy wrapper, checkpoint card)``, traced once for both formats."""
        from flame.export.program import export_program
        from flame.trainer.deploy import deploy_wrapper

        model, card = self.reference
        return export_program(deploy_wrapper(model, card), card), card

    @functools.cached_property
    def onnx(self) -> Path:
        # The library path of export_checkpoint(fmt="onnx") minus the second tracing: to_onnx
        # accepts the program as well as the wrapper (the CLI tests run export_checkpoint end to end).
        from flame.export.onnx_export import save_onnx, to_onnx

        program, card = self.program
        return save_onnx(to_onnx(program, card.replace(backend="onnx", precision="fp32")), self.root / "sharp.onnx")

    @functools.cached_property
    def onnx_fp16(self) -> Path:
        # The conversion export_checkpoint(fp16=True) applies, done on the FP32 file.
        from flame.export.fp16 import convert_to_fp16
        from flame.export.onnx_export import card_of, load_onnx, save_onnx, set_card

        graph = load_onnx(self.onnx)
        card = card_of(graph).replace(precision="fp16")
        fp16, _ = convert_to_fp16(graph)
        set_card(fp16, card)
        return save_onnx(fp16, self.root / "sharp.fp16.onnx")

    @functools.cached_property
    def pt2(self) -> Path:
        from flame.export.program import save_program

        program, card = self.program
        return save_program(program, card.replace(backend="torch-export", precision="fp32"), self.root / "sharp.pt2")

    @functools.cached_property
    def reference(self):
        """``(model, card)`` loaded back from the checkpoint, for ``flame.trainer.predict``."""
        from flame.trainer.checkpoint import load_checkpoint

        return load_checkpoint(self.checkpoint)

    @functools.cached_property
    def windows(self) -> np.ndarray:
        """Held-out windows (validation split) for parity tests."""
        return rendered_windows("val", sequences=2)[0]


_BUILT: dict[Path, Artifacts] = {}


def artifacts(tmp_path_factory) -> Artifacts:
    """The session's shared artifacts (one set per pytest base temp folder)."""
    base = Path(tmp_path_factory.getbasetemp())
    if base not in _BUILT:
        _BUILT[base] = Artifacts(tmp_path_factory.mktemp("engine-artifacts"))
    return _BUILT[base]


@contextlib.contextmanager
def torch_threads(count: int):
    """Set torch's intra-op thread count for a block, restoring it after (see conftest.py)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of equal pixels."""
    return float(np.mean(np.asarray(a) == np.asarray(b)))
