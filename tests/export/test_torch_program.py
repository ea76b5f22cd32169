"""torch.export programs (.pt2): parity with predict, the card inside, bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flame_testing.engine_artifacts import SIZE, agreement
from flame.core.errors import CardError, ConfigError, EngineError
from flame.runtime.engines import load_engine
from flame.runtime.engines.torch_export import CARD_FILE, TorchExportEngine, read_program_card
from flame.trainer.predict import predict


def test_pt2_agrees_with_predict(artifacts):
    model, card = artifacts.reference
    reference = np.stack([predict(model, card, w) for w in artifacts.windows])
    with load_engine(artifacts.pt2, device="cpu") as engine:
        labels = np.stack([engine(w) for w in artifacts.windows])
    assert labels.dtype == np.uint8 and labels.shape[1:] == SIZE
    assert agreement(labels, reference) >= 0.999


def test_pt2_card_round_trips(artifacts):
    _, checkpoint_card = artifacts.reference
    _, card = read_program_card(artifacts.pt2)
    assert card.backend == "torch-export" and card.precision == "fp32"
    assert card.replace(backend="pytorch") == checkpoint_card
    assert card.extra == checkpoint_card.extra


def test_fp16_needs_cuda(artifacts):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: FP16 is allowed")
    with pytest.raises(ConfigError, match="CUDA"):
        TorchExportEngine(artifacts.pt2, device="cpu", fp16=True)
    with pytest.raises(EngineError, match="no CUDA device"):
        TorchExportEngine(artifacts.pt2, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fp16_on_cuda_agrees_with_predict(artifacts):
    model, card = artifacts.reference
    reference = np.stack([predict(model, card, w) for w in artifacts.windows])
    with TorchExportEngine(artifacts.pt2, device="cuda", fp16=True) as engine:
        labels = np.stack([engine(w) for w in artifacts.windows])
        assert engine.card.precision == "fp16" and engine.device.startswith("cuda")
        assert engine.last_timing.compute_ms > 0
    assert agreement(labels, reference) >= 0.99


def test_program_without_card(tmp_path):
    class Tiny(torch.nn.Module):
        def forward(self, x):
            return x.float().mean(dim=(0, 3)).to(torch.uint8)

    program = torch.export.export(Tiny(), (torch.zeros(1, 32, 32, 3, dtype=torch.uint8),))
    path = tmp_path / "nocard.pt2"
    torch.export.save(program, str(path))
    with pytest.raises(CardError, match=CARD_FILE):
        load_engine(path)


def test_garbage_pt2(tmp_path):
    path = tmp_path / "bad.pt2"
    path.write_bytes(b"PK\x03\x04 definitely not a zip archive" * 4)
    with pytest.raises(EngineError, match="not a loadable torch.export program"):
        load_engine(path)
