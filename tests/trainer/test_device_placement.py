"""Device placement of every torch path, checked without a GPU: the model sits on PyTorch's ``meta`` device.

A tensor, buffer or module left on the CPU meets the model's tensors on meta
and raises "Tensor on device cpu is not on the expected device meta!" (or
torch.export's "Expected all tensors to be on the same device"), exactly
where it would meet CUDA tensors on a GPU. A meta tensor has no data, so each
path is expected to run until it first reads a value back (``.cpu()``,
``.item()``, saving weights): :func:`stops_at_first_read` checks that the
path got there, and names the line it stopped at, so a path that fails
earlier for any other reason fails the test.

What meta cannot show: the code inside ``torch.autocast`` (autocast exists
only for CUDA and CPU), and anything CUDA-specific the driver does. Those
run in ``flame-doctor --self-test`` on a GPU machine.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

from flame.apps.tiny_network import tiny_checkpoint
from flame.core.errors import ConfigError, EngineError
from flame.evaluation.datasets import SyntheticSpec, open_dataset, write_synthetic
from flame.trainer import distributed
from flame.trainer.checkpoint import load_checkpoint, read_checkpoint
from flame.trainer.predict import predict

ROOT = Path(__file__).resolve().parents[2]
META = torch.device("meta")
#: What a meta tensor says when its (absent) data is read: the expected end of a path.
READS = ("Cannot copy out of meta tensor", "cannot be called on meta tensors")


@contextlib.contextmanager
def stops_at_first_read(where: str, line: str):
    """The block must end by reading a meta tensor's data, in file ``where`` on a line containing ``line``.

    Any other exception (a device mismatch first) propagates and fails the test; so
    does a read elsewhere, which would mean the path changed under the test.
    """
    with pytest.raises((NotImplementedError, RuntimeError, EngineError)) as caught:
        yield
    chain, exc = [], caught.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    root = chain[-1]
    assert any(text in str(root) for text in READS), f"stopped by {type(root).__name__}: {root}"
    frames = [f for f in traceback.extract_tb(root.__traceback__) if f.filename.startswith(str(ROOT))]
    frames = frames or [f for e in chain for f in traceback.extract_tb(e.__traceback__)
                        if f.filename.startswith(str(ROOT))]
    assert frames, "no project frame in the traceback"
    last = frames[-1]
    assert Path(last.filename).name == where and line in (last.line or ""), \
        f"read at {Path(last.filename).name}:{last.lineno} ({last.line}), expected {where}: {line}"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("device"))


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("video") / "synth"
    return str(write_synthetic(SyntheticSpec(size=(32, 64), frames=6, sequences=2, val_sequences=1), root))


def _frames(card) -> np.ndarray:
    return np.zeros((card.window, *card.input_size, 3), dtype=np.uint8)


def test_predict(checkpoint):
    model, card = load_checkpoint(checkpoint)
    model.to(META)
    with stops_at_first_read("torch_export.py", "y.cpu()"):
        predict(model, card, _frames(card))


def test_reference_engine(checkpoint):
    from flame.trainer.reference import load_reference

    with load_reference(checkpoint, "meta") as engine:
        assert engine.device == "meta"
        with stops_at_first_read("torch_export.py", "y.cpu()"):
            engine(_frames(engine.card))


def test_validation(checkpoint, tiny_video):
    from flame.trainer.validate import validate

    model, card = load_checkpoint(checkpoint)
    val = open_dataset("synthetic", tiny_video, "val")
    card = card.replace(input_size=(32, 64))
    with stops_at_first_read("torch_export.py", "y.cpu()"):
        validate(model.to(META), card, val, 1)


def test_checkpoint_loads_onto_the_asked_device(checkpoint):
    data = read_checkpoint(checkpoint)  # map_location="cpu": any machine reads any checkpoint
    assert {t.device.type for t in data["model"].values()} == {"cpu"}
    model, _ = load_checkpoint(checkpoint, "meta")
    assert {t.device.type for t in [*model.parameters(), *model.buffers()]} == {"meta"}


def test_pt2_program(checkpoint, tmp_path):
    from flame.export.program import export_program, save_program
    from flame.runtime.engines.torch_export import TorchExportEngine
    from flame.trainer.deploy import deploy_wrapper

    model, card = load_checkpoint(checkpoint)
    path = save_program(export_program(deploy_wrapper(model, card), card), card, tmp_path / "tiny.pt2")
    with TorchExportEngine(path, device="meta") as engine:
        # The program's module is moved as a whole, its lifted constants too.
        with stops_at_first_read("torch_export.py", "y.cpu()"):
            engine(_frames(card))


def test_export_from_a_model_on_a_device(checkpoint, tmp_path):
    from flame.export.onnx_export import to_onnx
    from flame.export.program import export_program, save_program
    from flame.trainer.deploy import deploy_wrapper

    model, card = load_checkpoint(checkpoint, "meta")
    wrapper = deploy_wrapper(model, card)
    assert {t.device.type for t in wrapper.buffers()} == {"meta"}
    program = export_program(wrapper, card)  # traced where the weights are
    # Saving moves the weights to the CPU (a .pt2 must load on a machine without that device).
    with stops_at_first_read("program.py", "move_to_device_pass"):
        save_program(program, card, tmp_path / "tiny.pt2")
    with stops_at_first_read("onnx_export.py", "torch.onnx.export"):
        to_onnx(wrapper, card.replace(backend="onnx"))


def _run_on_meta(tmp_path, tiny_video, amp: bool):
    """A real training run set up on the CPU, then moved to meta (model, optimiser state, scaler, device)."""
    from flame.trainer.config import TrainOptions
    from flame.trainer.reporting import Reporter
    from flame.trainer.setup import start_run

    options = TrainOptions(out=str(tmp_path / "run"), model="swiftnet-r18", mode="two-frame", offset=1,
                           dataset="synthetic", data_root=tiny_video, epochs=1, iters_per_epoch=2, batch_size=2,
                           workers=0, device="cpu", seed=3)
    from flame.trainer.optim import make_optimizer, make_scheduler

    run = start_run(options, Reporter())
    # As setup.py does on a GPU: the model on the device first, then its optimiser and schedule
    # (moving to meta makes new Parameter objects, so they are built again here).
    run.model.to(META)
    run.optimizer = make_optimizer(run.model, run.config)
    run.scheduler = make_scheduler(run.optimizer, run.config, run.steps)
    run.ctx.device = META
    run.net = run.model
    # GradScaler keeps its scale on the device of what it scales; enabled here although AMP's autocast
    # region itself cannot run on meta (run.amp stays False).
    run.scaler = torch.amp.GradScaler(META.type, enabled=amp)
    return run


def test_training_step(tmp_path, tiny_video):
    from flame.trainer.train import train_one_epoch

    run = _run_on_meta(tmp_path, tiny_video, amp=False)
    # Batches come from the CPU loader and go to the device; the loss, backward and optimiser step run
    # there; the first read is the loss for the progress line.
    with stops_at_first_read("train.py", "float(loss.detach())"):
        train_one_epoch(run, 0)
    grads = [p.grad for p in run.model.parameters() if p.requires_grad]
    assert grads and all(g is not None and g.device == META for g in grads)
    # The optimiser's state (momentum, Adam moments) sits with the weights; 0-dim step counters may stay on the CPU.
    state = [t for entry in run.optimizer.state.values() for t in entry.values()
             if isinstance(t, torch.Tensor) and t.dim() > 0]
    assert state and all(t.device == META for t in state)


def test_grad_scaler_step(tmp_path, tiny_video):
    from flame.trainer.train import train_one_epoch

    run = _run_on_meta(tmp_path, tiny_video, amp=True)
    # scale -> backward -> unscale: the scale and the inf checks sit with the gradients; the scaler
    # reads its found-inf flag before stepping.
    with stops_at_first_read("train.py", "run.scaler.step(run.optimizer)"):
        train_one_epoch(run, 0)
    assert run.scaler._scale.device == META
    assert all(p.grad is not None and p.grad.device == META for p in run.model.parameters() if p.requires_grad)


def test_grad_scaler_is_built_for_the_run_device(tmp_path, tiny_video):
    # setup.py builds the scaler for the run's device type (the CUDA scaler on a GPU), off without AMP.
    from flame.trainer.config import TrainOptions
    from flame.trainer.reporting import Reporter
    from flame.trainer.setup import start_run

    run = start_run(TrainOptions(out=str(tmp_path / "run"), model="swiftnet-r18", dataset="synthetic",
                                 data_root=tiny_video, epochs=1, iters_per_epoch=1, batch_size=2, workers=0,
                                 device="cpu"), Reporter())
    assert run.scaler._device == run.ctx.device.type == "cpu" and not run.scaler.is_enabled() and not run.amp


class _FakeCuda:
    """torch.cuda as a 4-GPU machine would answer, and the process-group calls recorded."""

    def __init__(self, monkeypatch):
        self.current = None
        self.groups = []
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
        monkeypatch.setattr(torch.cuda, "set_device", lambda device: setattr(self, "current", torch.device(device)))
        monkeypatch.setattr(distributed.dist, "is_initialized", lambda: bool(self.groups))
        monkeypatch.setattr(distributed.dist, "init_process_group",
                            lambda backend, **kwargs: self.groups.append((backend, kwargs.get("device_id"))))


@pytest.mark.parametrize("request_", ["cuda", "auto"])
def test_ddp_takes_the_gpu_of_local_rank(monkeypatch, request_):
    cuda = _FakeCuda(monkeypatch)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "6")
    monkeypatch.setenv("LOCAL_RANK", "2")
    ctx = distributed.setup(request_)
    assert (ctx.rank, ctx.world_size, ctx.local_rank) == (6, 4, 2)
    assert ctx.device == torch.device("cuda", 2) and cuda.current == torch.device("cuda", 2)
    assert cuda.groups == [("nccl", torch.device("cuda", 2))]
    assert distributed.ddp_device_ids(ctx.device) == [2]


def test_ddp_device_choices(monkeypatch):
    _FakeCuda(monkeypatch)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(ConfigError, match="LOCAL_RANK"):
        distributed.setup("cuda:0")  # one GPU named for every process: refused
    assert distributed.ddp_device_ids(torch.device("cpu")) is None  # gloo on the CPU: no device_ids
    with pytest.raises(ConfigError, match="indexed CUDA device"):
        distributed.ddp_device_ids(torch.device("cuda"))
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert distributed.setup("cuda:3").device == torch.device("cuda", 3)  # alone: any GPU by name
    os.environ.pop("RANK", None)
