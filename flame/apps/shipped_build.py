"""How the self-test's shipped engine (:mod:`flame.apps.shipped_engine`) is made: a few-kB FLAME ONNX export.

``scripts/make_selftest_engine.py`` calls :func:`build_shipped` to write
``flame/apps/selftest/probe.onnx`` and ``probe.npz`` (the input frames and the
labels the PyTorch reference gives them). The network is three small
convolutions with seeded weights whose 1x1 classifier is fitted by ridge least
squares to the rendered frames' labels (real logit margins, as
:mod:`flame.apps.sharpen` does for SwiftNet), exported by the same path as every
FLAME export (deploy wrapper -> ``torch.onnx`` -> card in the metadata), so the
robot install's self-test runs a real FLAME engine without torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from flame.core.card import ModelCard

#: The shipped engine: input size (HxW), classes, frames shipped with it, hidden channels.
PROBE_SIZE = (48, 64)
PROBE_CLASSES = 5
PROBE_FRAMES = 4
PROBE_CHANNELS = 8
#: Ridge fit target height (the logits' margin scale) and strength.
MARGIN, RIDGE = 10.0, 1e-3


def probe_card() -> ModelCard:
    """The shipped engine's card: single-frame, 30 fps, the synthetic video's first classes and palette."""
    from flame.evaluation.datasets.synthetic import CLASS_NAMES, PALETTE

    return ModelCard(architecture="selftest-probe", num_classes=PROBE_CLASSES,
                     class_names=tuple(CLASS_NAMES[:PROBE_CLASSES]),
                     palette=tuple(tuple(int(v) for v in c) for c in PALETTE[:PROBE_CLASSES]), window=1, offset=1,
                     fps=30.0, input_size=PROBE_SIZE, mode="single-frame", backend="onnx", precision="fp32",
                     extra={"doctor": "the self-test's shipped engine (scripts/make_selftest_engine.py)"})


def probe_network(weights: dict[str, np.ndarray] | None = None) -> Any:
    """The probe network (``[1, 3, H, W]`` normalised RGB -> ``[1, C, H, W]`` logits), seeded or given ``weights``."""
    import torch
    from torch import nn

    c = PROBE_CHANNELS
    model = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(c, PROBE_CLASSES, 1))
    state = model.state_dict()
    if weights is None:  # numpy's seeded generator: the same weights whatever torch's initialisers do
        rng = np.random.default_rng(0)
        weights = {k: (rng.standard_normal(v.shape) * (2.0 / max(1, v[0].numel())) ** 0.5).astype(np.float32)
                   for k, v in state.items()}
    model.load_state_dict({k: torch.tensor(np.asarray(weights[k], dtype=np.float32)) for k in state})
    return model.eval()


def probe_frames() -> tuple[np.ndarray, np.ndarray]:
    """Frames (uint8 ``[N, H, W, 3]`` BGR) of discs and bars moving over a gradient, and their labels.

    Pure integer numpy (smooth, so the shipped ``.npz`` stays small): a disc of
    class 1, a bar of class 2, a square of class 3 and a small disc of class 4,
    each in its class colour, shaded, moving 3 pixels a frame.
    """
    from flame.evaluation.datasets.synthetic import PALETTE

    height, width = PROBE_SIZE
    y, x = np.mgrid[:height, :width]
    frames = np.empty((PROBE_FRAMES, height, width, 3), dtype=np.uint8)
    labels = np.zeros((PROBE_FRAMES, height, width), dtype=np.uint8)
    for i in range(PROBE_FRAMES):
        shift = 3 * i
        shapes = [
            (x - 16 - shift) ** 2 + (y - 20) ** 2 < 12 ** 2,
            (abs(y - 36 + i) < 4) & (x > 4 + shift) & (x < 40 + shift),
            (abs(x - 48 + shift) < 8) & (abs(y - 12 - i) < 8),
            (x - 52) ** 2 + (y - 38 + shift // 2) ** 2 < 5 ** 2,
        ]
        image = np.stack([(x * 2 + y) % 256, (y * 3 + 40) % 256, np.full_like(x, 90)], axis=-1)
        for cls, mask in enumerate(shapes, start=1):
            shade = np.asarray(PALETTE[cls], dtype=np.int64)[::-1] * (200 + (x + y) % 56)[..., None] // 256  # RGB -> BGR
            image = np.where(mask[..., None], shade, image)
            labels[i][mask] = cls
        frames[i] = image.astype(np.uint8)
    return frames, labels


def fit_classifier(model: Any, card: ModelCard, frames: np.ndarray, truth: np.ndarray) -> None:
    """Fit the last 1x1 convolution to one-hot ``truth`` by ridge least squares (in place)."""
    import torch

    from flame.trainer.deploy import deploy_wrapper

    wrapper = deploy_wrapper(model, card)
    with torch.no_grad():
        x = torch.cat([wrapper.preprocess(torch.from_numpy(f[None])) for f in frames])
        features = model[:-1](x).permute(0, 2, 3, 1).reshape(-1, PROBE_CHANNELS).double()
        features = torch.cat([features, torch.ones(len(features), 1, dtype=torch.float64)], dim=1)  # the bias
        onehot = torch.nn.functional.one_hot(torch.from_numpy(truth).long().reshape(-1), PROBE_CLASSES).double()
        ridge = RIDGE * len(features) * torch.eye(features.shape[1], dtype=torch.float64)
        solved = torch.linalg.solve(features.T @ features + ridge, features.T @ (MARGIN * onehot))
        model[-1].weight.copy_(solved[:-1].T.float().view(PROBE_CLASSES, PROBE_CHANNELS, 1, 1))
        model[-1].bias.copy_(solved[-1].float())


def reference_labels(model: Any, card: ModelCard, frames: np.ndarray) -> np.ndarray:
    """The PyTorch reference's labels (uint8 ``[N, H, W]``): the deploy wrapper every export is made from."""
    import torch

    from flame.trainer.deploy import deploy_wrapper

    wrapper = deploy_wrapper(model, card)
    with torch.no_grad():
        return np.stack([wrapper(torch.from_numpy(f[None])).numpy() for f in frames]).astype(np.uint8)


def build_shipped(folder: str | Path) -> tuple[Path, Path]:
    """Write ``probe.onnx`` and ``probe.npz`` (``frames``, ``labels``) into ``folder``.

    Returns:
        The two paths.
    """
    from flame.core.files import atomic_path
    from flame.export.onnx_export import save_onnx, to_onnx
    from flame.trainer.deploy import deploy_wrapper

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    card = probe_card()
    model = probe_network()
    frames, truth = probe_frames()
    fit_classifier(model, card, frames, truth)
    graph = to_onnx(deploy_wrapper(model, card), card)
    for node in graph.graph.node:  # the exporter's stack traces: most of the file, of no use to a robot
        del node.metadata_props[:]
        node.doc_string = ""
    onnx_path = save_onnx(graph, folder / "probe.onnx")
    with atomic_path(folder / "probe.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, frames=frames, labels=reference_labels(model, card, frames))
    return onnx_path, folder / "probe.npz"
