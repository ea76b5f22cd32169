"""Give a randomly initialised SwiftNet real logit margins in a second, for parity checks.

A random network has near-tied logits, so comparing two precisions of it
measures tie-breaking, not precision (INT8 of a random tiny SwiftNet agrees with
FP32 on about 90% of pixels, of the same network sharpened on 99%). Training it
for real takes minutes, so :func:`sharpen`, in place:

1. re-estimates the BatchNorm statistics on the given frames (a fresh
   network's running mean and variance are 0 and 1, far from its activations);
2. fits the 1x1 classifier by ridge least squares from the (frozen) decoder
   features to one-hot labels of the same frames.

Used by ``flame-doctor --self-test``'s network, the export tests' fixture and
``benchmarks/engines.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flame.core.errors import ConfigError

#: One-hot target height: the fitted logits' margin scale.
MARGIN = 10.0


def sharpen(model: Any, card: Any, windows: np.ndarray, labels: np.ndarray) -> None:
    """Re-estimate BatchNorm on ``windows`` and fit the classifier to ``labels``; ``model`` is changed in place.

    Args:
        model: a SwiftNet (:mod:`flame.trainer.models`; its classifier is ``model.logits[2]``), left in eval mode.
        card: its card (input normalisation, class count).
        windows: uint8 ``[N, T, H, W, 3]`` BGR input windows at the card's input size.
        labels: class ids ``[N, H, W]`` of each window's last frame.

    Raises:
        ConfigError: when ``model`` has no SwiftNet classifier.
    """
    import torch
    import torch.nn.functional as F

    from flame.trainer.deploy import deploy_wrapper

    head = getattr(model, "logits", None)
    if not isinstance(head, torch.nn.Sequential) or len(head) < 3 or not isinstance(head[2], torch.nn.Conv2d):
        raise ConfigError(f"sharpening needs a SwiftNet (classifier at model.logits[2]), not {type(model).__name__}")
    classifier = head[2]
    wrapper = deploy_wrapper(model, card)
    with torch.no_grad():
        x = torch.cat([wrapper.preprocess(torch.from_numpy(np.ascontiguousarray(w))) for w in windows])
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None  # cumulative average over the one calibration pass
        model.train()
        model(x)
        model.eval()
        captured = {}
        hook = classifier.register_forward_hook(lambda m, inputs, out: captured.setdefault("x", inputs[0]))
        model(x)
        hook.remove()
        features = captured["x"]  # [N, C, h, w] at the classifier's stride
        channels = features.shape[1]
        target = F.interpolate(torch.from_numpy(np.asarray(labels))[:, None].float(), size=features.shape[2:],
                               mode="nearest")
        onehot = F.one_hot(target[:, 0].long().reshape(-1), card.num_classes).double() * MARGIN
        a = features.permute(0, 2, 3, 1).reshape(-1, channels).double()
        ridge = 1e-3 * a.shape[0] * torch.eye(channels, dtype=torch.float64)
        weights = torch.linalg.solve(a.T @ a + ridge, a.T @ onehot)
        classifier.weight.copy_(weights.T.float().view(card.num_classes, channels, 1, 1))
