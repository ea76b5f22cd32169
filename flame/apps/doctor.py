"""``flame-doctor``: what this machine has, and proof that each deployment path works on it.

:func:`environment` lists the facts a bug report needs (Python, numpy,
OpenCV and its video backends, ONNX Runtime and its providers, torch and its
CUDA, the GPUs, TensorRT, cuda-bindings, cameras, a Jetson's model and power
mode). It imports nothing heavy it does not report on and never raises.

:func:`self_test` builds a tiny network, exports it to every format this
machine supports, runs each artifact on each device it can, compares its
labels with the PyTorch reference (thresholds of :mod:`flame.export.parity`),
times it, and runs two steps of the training loop on each device. Every check is one
:class:`Check` row: ``ok``, ``failed`` (with the one-line reason) or
``unavailable`` (with why: nothing on this machine to run it on).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from flame.apps.events import Events
from flame.core.errors import FlameError, first_line
from flame.core.deps import install_hint, installed

OK, FAILED, UNAVAILABLE = "ok", "failed", "unavailable"

#: The self-test network: the smallest registered architecture at a small input, one frame.
TINY_ARCHITECTURE = "swiftnet-r18"
TINY_SIZE = (64, 64)
TINY_CLASSES = 5
TIMED_CALLS = 5


@dataclass(frozen=True)
class Fact:
    """One line of the environment: ``name: value``."""

    name: str
    value: str


@dataclass
class Check:
    """One self-test row.

    Attributes:
        name: what was checked (``run: ONNX FP16 on CUDA``...).
        status: ``ok``, ``failed`` or ``unavailable``.
        detail: the result (agreement, latency) when ok, the one-line reason otherwise.
        seconds: how long the check took.
        latency_ms: median time of one call (run checks).
        agreement: fraction of pixels whose label matches the PyTorch reference (run checks).
    """

    name: str
    status: str
    detail: str = ""
    seconds: float | None = None
    latency_ms: float | None = None
    agreement: float | None = None


# ---------------------------------------------------------------------------------------- environment

def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _one_line(exc: BaseException) -> str:
    """An exception as one short line (library errors say what they mean; others get their type)."""
    return first_line(exc, 300, typed=not isinstance(exc, FlameError))


def _run(args: list[str], timeout_s: float = 5.0) -> str | None:
    """stdout of a command, or None when it is missing, fails or hangs."""
    if shutil.which(args[0]) is None:
        return None
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").replace("\x00", "").strip() or None
    except OSError:
        return None


def opencv_backends() -> dict[str, bool]:
    """Whether OpenCV's video I/O has FFmpeg, GStreamer and V4L2 (from its build information)."""
    import cv2

    registered = {cv2.videoio_registry.getBackendName(b).upper() for b in cv2.videoio_registry.getBackends()}
    return {name: any(name in b for b in registered) for name in ("FFMPEG", "GSTREAMER", "V4L2")}


def gpus() -> tuple[list[str], str | None]:
    """One description per NVIDIA GPU (name, compute capability, memory, driver), and why there is none."""
    smi = _run(["nvidia-smi", "--query-gpu=name,compute_cap,memory.total,driver_version", "--format=csv,noheader"])
    if smi:
        rows = []
        for line in smi.splitlines():
            name, cc, memory, driver = (part.strip() for part in line.split(",", 3))
            rows.append(f"{name}, compute capability {cc}, {memory}, driver {driver}")
        return rows, None
    if not installed("cuda.bindings"):
        return [], "nvidia-smi not found and cuda-bindings not installed"
    from flame.runtime.engines import cudart

    try:
        count = cudart.device_count()
        from cuda.bindings import runtime as rt

        driver = cudart.check(rt.cudaDriverGetVersion(), "cudaDriverGetVersion")
        rows = []
        for index in range(count):
            props = cudart.check(rt.cudaGetDeviceProperties(index), "cudaGetDeviceProperties")
            name = props.name.split(b"\0", 1)[0].decode(errors="replace") if isinstance(props.name, bytes) \
                else str(props.name)
            rows.append(f"{name}, compute capability {props.major}.{props.minor}, "
                        f"{int(props.totalGlobalMem) >> 20} MiB, CUDA driver API {driver // 1000}.{driver % 1000 // 10}")
        return rows, None
    except FlameError as exc:
        return [], _one_line(exc)


def cameras() -> list[str]:
    """Video capture devices the kernel lists (``/dev/video*`` with their names); not opened."""
    found = []
    for device in sorted(Path("/dev").glob("video*"), key=lambda p: (len(p.name), p.name)):
        name = _read(f"/sys/class/video4linux/{device.name}/name")
        found.append(f"{device}" + (f" ({name})" if name else ""))
    return found


def jetson() -> list[Fact]:
    """A Jetson's model, L4T release and power mode, when readable (empty elsewhere)."""
    model = _read("/proc/device-tree/model")
    release = _read("/etc/nv_tegra_release")
    if not release and not (model and "jetson" in model.lower()):
        return []
    facts = [Fact("Jetson", model or "unknown model")]
    if release:
        facts.append(Fact("L4T", release.splitlines()[0][:120]))
    mode = _run(["nvpmodel", "-q"])
    facts.append(Fact("power mode", " ".join(mode.split()) if mode else "unknown (nvpmodel -q not readable)"))
    return facts


def _torch_facts() -> list[Fact]:
    if not installed("torch"):
        return [Fact("torch", install_hint("torch") or "not installed")]
    try:
        import torch
    except Exception as exc:  # installed but broken: say so, do not stop the report
        return [Fact("torch", f"does not import: {_one_line(exc)}")]
    cuda = torch.version.cuda
    if not cuda:
        where = "CPU-only build"
    elif torch.cuda.is_available():
        where = f"CUDA {cuda}, cuDNN {torch.backends.cudnn.version()}, {torch.cuda.device_count()} device(s)"
    else:
        where = f"built for CUDA {cuda}, but no CUDA device answers"
    return [Fact("torch", f"{torch.__version__} ({where})")]


def environment() -> list[Fact]:
    """The facts of this machine, in report order (never raises)."""
    from flame.runtime.machine import cpu_name

    facts = [Fact("Python", f"{platform.python_version()} ({sys.executable})"),
             Fact("system", f"{platform.system()} {platform.release()} {platform.machine()}, {cpu_name()}, "
                            f"{os.cpu_count()} CPUs"),
             Fact("flame-rt", _version("flame-rt") or "not installed (running from a source tree)"),
             Fact("numpy", np.__version__)]
    try:
        import cv2

        backends = opencv_backends()
        facts.append(Fact("OpenCV", f"{cv2.__version__}; video: "
                                    + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in backends.items())))
    except Exception as exc:
        facts.append(Fact("OpenCV", f"unavailable: {_one_line(exc)}"))
    try:
        import onnxruntime as ort

        facts.append(Fact("ONNX Runtime", f"{ort.__version__}; providers: {', '.join(ort.get_available_providers())}"))
    except Exception as exc:
        facts.append(Fact("ONNX Runtime", f"unavailable: {_one_line(exc)}"))
    facts += _torch_facts()
    devices, why = gpus()
    facts += [Fact(f"GPU {i}", d) for i, d in enumerate(devices)] or [Fact("GPU", f"none: {why}")]
    facts.append(Fact("TensorRT", _tensorrt_fact()))
    facts.append(Fact("cuda-bindings", _version("cuda-bindings") or "not installed"))
    found = cameras()
    facts.append(Fact("cameras", ", ".join(found) if found else "none found (/dev/video*)"))
    return facts + jetson()


def _tensorrt_fact() -> str:
    if installed("tensorrt"):
        return _version("tensorrt") or _version("tensorrt-cu12") or _version("tensorrt-cu13") or "installed (JetPack?)"
    if importlib.util.find_spec("tensorrt") is not None:
        return "not installed (only its type stubs are)"
    return "not installed"


# ------------------------------------------------------------------------------------------ self-test

class _Rows:
    """Collects the rows, timing each and turning its failure into one line."""

    def __init__(self, events: Events) -> None:
        self.rows: list[Check] = []
        self._events = events

    def add(self, check: Check) -> Check:
        self.rows.append(check)
        self._events.info(f"{check.name}: {check.status}" + (f" ({check.detail})" if check.detail else ""))
        return check

    def unavailable(self, name: str, why: str) -> Check:
        return self.add(Check(name, UNAVAILABLE, why))

    @contextlib.contextmanager
    def check(self, name: str) -> Iterator[Check]:
        """A check: ok when the block ends, failed with its reason when it raises."""
        row = Check(name, OK)
        self._events.stage(name)
        began = time.perf_counter()
        try:
            yield row
        except Exception as exc:  # each check reports its own failure; the next ones still run
            row.status, row.detail = FAILED, _one_line(exc)
        row.seconds = round(time.perf_counter() - began, 3)
        self.add(row)


def _torch_missing() -> str | None:
    for module in ("torch", "onnx"):
        if not installed(module):
            return install_hint(module)
    return None


def _cuda_missing() -> str | None:
    """Why torch cannot use a CUDA device here (None when it can)."""
    import torch

    if not torch.version.cuda:
        return f"torch {torch.__version__} is a CPU-only build"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no CUDA device"
    return None


def _ort_cuda_missing() -> str | None:
    import onnxruntime as ort

    providers = ort.get_available_providers()
    if "CUDAExecutionProvider" not in providers:
        return f"ONNX Runtime {ort.__version__} has no CUDAExecutionProvider (providers: {', '.join(providers)})"
    return None


def tiny_checkpoint(folder: Path) -> Path:
    """A checkpoint of a tiny, deterministic network (random weights, calibrated BatchNorm).

    BatchNorm statistics are estimated on the parity frames so that the
    activations have the scale of a trained network's: with the 0/1 statistics
    of a fresh network, FP16 would be compared on near-tied logits.
    """
    import torch

    from flame.core.card import ModelCard
    from flame.evaluation.datasets.synthetic import CLASS_NAMES, PALETTE
    from flame.export.parity import parity_windows
    from flame.trainer.checkpoint import save_checkpoint
    from flame.trainer.deploy import DeployWrapper
    from flame.trainer.models import build_model

    card = ModelCard(architecture=TINY_ARCHITECTURE, num_classes=TINY_CLASSES,
                     class_names=tuple(CLASS_NAMES[:TINY_CLASSES]),
                     palette=tuple(tuple(int(v) for v in c) for c in PALETTE[:TINY_CLASSES]), window=1, offset=1,
                     fps=30.0, input_size=TINY_SIZE, mode="single-frame", extra={"doctor": "tiny self-test network"})
    torch.manual_seed(0)
    model = build_model(card.architecture, card.num_classes, card.window)
    wrapper = DeployWrapper(model, card)
    with torch.no_grad():
        frames = torch.cat([wrapper.preprocess(torch.from_numpy(w)) for w in parity_windows(card, 4, seed=1)])
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None  # cumulative average over the one calibration pass
        model.train()
        model(frames)
    return save_checkpoint(folder / "tiny.pt", {"model": model.eval().state_dict(), "epoch": 0, "card": card.to_dict()})


def _time_engine(engine: Callable[[np.ndarray], Any], windows: list[np.ndarray]) -> tuple[list[np.ndarray], float]:
    """Labels of every window, and the median time of one call after a warm-up call."""
    engine(windows[0])
    labels, times = [], []
    for i in range(max(TIMED_CALLS, len(windows))):
        began = time.perf_counter()
        result = np.asarray(engine(windows[i % len(windows)]))
        times.append(1000.0 * (time.perf_counter() - began))
        if i < len(windows):
            labels.append(result)
    return labels, statistics.median(times)


def self_test(work_dir: str | os.PathLike | None = None,
              events: Events | None = None) -> list[Check]:
    """Export a tiny network to each format, run each on each device, train a step; one row per check.

    Args:
        work_dir: where the artifacts go (a temporary folder, removed after, when None).
        events: told each check as it starts (``stage``) and its row once known (``info``).

    Returns:
        The rows, in order. A row whose dependency is missing is ``unavailable``
        and says why; nothing is raised for a failing check.
    """
    rows = _Rows(events or Events())
    with contextlib.ExitStack() as stack:
        folder = Path(work_dir) if work_dir else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="flame-doctor-")))
        folder.mkdir(parents=True, exist_ok=True)
        missing = _torch_missing()
        if missing:
            for name in ("network", "export: ONNX FP32", "export: ONNX FP16", "export: .pt2",
                         "export: TensorRT FP16 plan", "train: two steps on CPU", "train: two AMP steps on CUDA"):
                rows.unavailable(name, missing)
            return rows.rows
        _self_test(folder, rows)
    return rows.rows


def _self_test(folder: Path, rows: _Rows) -> None:
    import torch

    from flame.export.parity import THRESHOLDS, compare, parity_windows
    from flame.trainer.reference import load_reference
    from flame.runtime.engines import load_engine
    from flame.runtime.engines.tensorrt import missing_for_tensorrt

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(min(previous_threads, 4))  # a tiny network: more threads only contend
    try:
        cuda_missing = _cuda_missing()
        checkpoint = card = expected = None
        with rows.check(f"network: {TINY_ARCHITECTURE} {TINY_SIZE[0]}x{TINY_SIZE[1]}") as row:
            checkpoint = tiny_checkpoint(folder)
            with load_reference(checkpoint, "cpu") as reference:
                card = reference.card
                windows = parity_windows(card, 4)
                expected, ms = _time_engine(reference, windows)
            row.latency_ms, row.detail = ms, "random weights, calibrated BatchNorm; the PyTorch reference on CPU"
        if checkpoint is None or card is None or expected is None:
            return

        artifacts = _exports(folder, checkpoint, rows)

        def run(name: str, artifact: str, device: str, why: str | None, precision: str,
                factory: Callable[[], Any] | None = None, **options: Any) -> None:
            if why:
                rows.unavailable(name, why)
                return
            path = artifacts.get(artifact)
            if factory is None and path is None:
                rows.unavailable(name, f"the {artifact} export did not succeed")
                return
            with rows.check(name) as row:
                opened = factory() if factory else load_engine(path, device=device, **options)
                with opened as engine:
                    if device == "cuda" and getattr(engine, "providers", ["CUDA"])[0] == "CPUExecutionProvider":
                        raise FlameError(f"ONNX Runtime lists CUDAExecutionProvider but ran on {engine.providers} "
                                         "(its CUDA or cuDNN libraries do not load)")
                    labels, ms = _time_engine(engine, windows)
                agreement = compare(expected, labels, "labels")[0]
                row.latency_ms, row.agreement = ms, agreement
                row.detail = f"labels {100 * agreement:.2f}% equal to the reference (>= {100 * THRESHOLDS[precision]:g}%)"
                if agreement < THRESHOLDS[precision]:
                    row.status = FAILED

        ort_cuda = _ort_cuda_missing()
        trt_missing = "; ".join(missing_for_tensorrt()) or None
        run("run: PyTorch reference on CUDA", "", "cuda", cuda_missing, "fp32",
            factory=lambda: load_reference(checkpoint, "cuda"))
        run("run: ONNX FP32 on CPU", "onnx", "cpu", None, "fp32")
        run("run: ONNX FP32 on CUDA", "onnx", "cuda", ort_cuda, "fp32", providers=["CUDAExecutionProvider"])
        run("run: ONNX FP16 on CPU", "onnx-fp16", "cpu", None, "fp16")
        run("run: ONNX FP16 on CUDA", "onnx-fp16", "cuda", ort_cuda, "fp16", providers=["CUDAExecutionProvider"])
        run("run: .pt2 on CPU", "pt2", "cpu", None, "fp32")
        run("run: .pt2 on CUDA", "pt2", "cuda", cuda_missing, "fp32")
        run("run: .pt2 on CUDA under FP16 autocast", "pt2-fp16", "cuda", cuda_missing, "fp16")
        run("run: TensorRT FP16", "tensorrt", "cuda", trt_missing, "fp16")
        run("run: TensorRT FP16 with a CUDA graph", "tensorrt", "cuda", trt_missing, "fp16", cuda_graph=True)

        with rows.check("train: two steps on CPU") as row:
            row.detail = train_step(folder, "cpu")
        if cuda_missing:
            rows.unavailable("train: two AMP steps on CUDA", cuda_missing)
        else:
            with rows.check("train: two AMP steps on CUDA") as row:
                row.detail = train_step(folder, "cuda")
    finally:
        torch.set_num_threads(previous_threads)


def _exports(folder: Path, checkpoint: Path, rows: _Rows) -> dict[str, Path]:
    """Every artifact this machine can build, by key; one row each (the network is traced once)."""
    from flame.export.fp16 import convert_to_fp16
    from flame.export.onnx_export import save_onnx, set_card, to_onnx
    from flame.export.program import export_program, save_program
    from flame.trainer.deploy import deploy_wrapper
    from flame.runtime.engines.tensorrt import missing_for_tensorrt
    from flame.trainer.checkpoint import load_checkpoint

    artifacts: dict[str, Path] = {}
    program = graph = onnx_card = None
    with rows.check("export: .pt2") as row:
        model, card = load_checkpoint(checkpoint)
        program = export_program(deploy_wrapper(model, card), card)
        artifacts["pt2"] = save_program(program, card.replace(backend="torch-export", precision="fp32"),
                                        folder / "tiny.pt2")
        # The same program with an FP16 card: the .pt2 engine runs it under FP16 autocast on CUDA.
        artifacts["pt2-fp16"] = save_program(program, card.replace(backend="torch-export", precision="fp16"),
                                             folder / "tiny.fp16.pt2")
        row.detail = _size(artifacts["pt2"])
    if program is None:
        for name in ("export: ONNX FP32", "export: ONNX FP16", "export: TensorRT FP16 plan"):
            rows.unavailable(name, "torch.export of the network failed (see export: .pt2)")
        return artifacts
    with rows.check("export: ONNX FP32") as row:
        onnx_card = card.replace(backend="onnx", precision="fp32")
        graph = to_onnx(program, onnx_card)
        artifacts["onnx"] = save_onnx(graph, folder / "tiny.onnx")
        row.detail = _size(artifacts["onnx"])
    if graph is None or onnx_card is None:
        for name in ("export: ONNX FP16", "export: TensorRT FP16 plan"):
            rows.unavailable(name, "the ONNX export failed (see export: ONNX FP32)")
        return artifacts
    with rows.check("export: ONNX FP16") as row:
        half, kept = convert_to_fp16(graph)
        set_card(half, onnx_card.replace(precision="fp16"))
        artifacts["onnx-fp16"] = save_onnx(half, folder / "tiny.fp16.onnx")
        row.detail = f"{_size(artifacts['onnx-fp16'])}, {len(kept)} nodes kept in FP32"
    trt_missing = missing_for_tensorrt()
    if trt_missing:
        rows.unavailable("export: TensorRT FP16 plan", "; ".join(trt_missing))
    else:
        from flame.export.tensorrt_build import build_plan

        with rows.check("export: TensorRT FP16 plan") as row:
            build = build_plan(graph, folder / "tiny.fp16.plan", onnx_card, fp16=True, workspace_mb=256)
            artifacts["tensorrt"] = folder / "tiny.fp16.plan"
            row.detail = (f"{_size(artifacts['tensorrt'])}, built in {build.seconds:.1f} s with TensorRT "
                          f"{build.card.tensorrt_version} on {build.card.gpu_name}")
    return artifacts


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MB"


def train_step(folder: Path, device: str) -> str:
    """Two steps of the project's training loop (:func:`flame.trainer.train.train_one_epoch`) on ``device``.

    A run is set up as ``flame-train`` does (AMP on CUDA) on a tiny synthetic
    video written under ``folder``; the weights must change and the loss be finite.

    Raises:
        FlameError: when the loss is not finite or the weights did not move.
    """
    import torch

    from flame.evaluation.datasets import SyntheticSpec, write_synthetic
    from flame.trainer.config import TrainOptions
    from flame.trainer.reporting import Reporter
    from flame.trainer.setup import start_run
    from flame.trainer.train import train_one_epoch

    data = folder / "train-data"
    if not (data / "meta.json").is_file():
        write_synthetic(SyntheticSpec(size=(32, 64), frames=4, sequences=1, val_sequences=1), data)
    options = TrainOptions(out=str(folder / f"train-{device}"), model=TINY_ARCHITECTURE, mode="static",
                           dataset="synthetic", data_root=str(data), epochs=1, iters_per_epoch=2, batch_size=2,
                           workers=0, device=device, seed=0)
    run = start_run(options, Reporter())
    try:
        before = [p.detach().clone() for p in run.model.parameters()]
        loss, _ = train_one_epoch(run, 0)
        moved = any(not torch.equal(a, b.detach()) for a, b in zip(before, run.model.parameters()))
    finally:
        run.ctx.close()
    if not np.isfinite(loss) or not moved:
        raise FlameError(f"the training step left the weights unchanged or the loss not finite (loss {loss})")
    return f"loss {loss:.4f} over 2 steps on {run.ctx.device}{' with AMP' if run.amp else ''}"


# ------------------------------------------------------------------------------------------- report

def exit_status(checks: list[Check]) -> int:
    """1 when a check that could run failed, else 0 (unavailable rows do not count)."""
    return 1 if any(c.status == FAILED for c in checks) else 0


def report(facts: list[Fact], checks: list[Check] | None) -> dict[str, Any]:
    """The JSON document of ``--json``."""
    return {"environment": {f.name: f.value for f in facts},
            "self_test": None if checks is None else [asdict(c) for c in checks],
            "exit_status": 0 if checks is None else exit_status(checks)}
