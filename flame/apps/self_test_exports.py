"""The self-test's exports (:mod:`flame.apps.self_test`): every artifact this machine can build, one row each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The export rows, in order (each ``ok``, ``failed`` or ``unavailable``).
EXPORT_ROWS = ("export: .pt2", "export: ONNX FP32", "export: ONNX FP16", "export: ONNX INT8",
               "export: TensorRT FP16 plan", "export: TensorRT INT8 plan")
#: What the INT8 rows say they were calibrated on.
CALIBRATION = "rendered synthetic frames"


def build_exports(folder: Path, checkpoint: Path, rows: Any) -> dict[str, Path]:
    """Every artifact this machine can build, by key; one row each (the network is traced once).

    Args:
        folder: where the artifacts go (``tiny.onnx``, ``tiny.int8.onnx``, ``tiny.fp16.plan``...).
        checkpoint: the tiny network (:func:`flame.apps.tiny_network.tiny_checkpoint`).
        rows: the self-test's row collector (``check(name)`` and ``unavailable(name, why)``).

    Returns:
        Artifact key (``pt2``, ``pt2-fp16``, ``onnx``, ``onnx-fp16``, ``onnx-int8``, ``tensorrt``,
        ``tensorrt-int8``) -> path, for the exports that succeeded.
    """
    from flame.export.fp16 import convert_to_fp16
    from flame.export.int8 import int8_graph
    from flame.export.onnx_export import save_onnx, set_card, to_onnx
    from flame.export.parity import parity_windows
    from flame.export.program import export_program, save_program
    from flame.runtime.engines.tensorrt import missing_for_tensorrt
    from flame.trainer.checkpoint import load_checkpoint
    from flame.trainer.deploy import deploy_wrapper

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
        for name in EXPORT_ROWS[1:]:
            rows.unavailable(name, "torch.export of the network failed (see export: .pt2)")
        return artifacts
    with rows.check("export: ONNX FP32") as row:
        onnx_card = card.replace(backend="onnx", precision="fp32")
        graph = to_onnx(program, onnx_card)
        artifacts["onnx"] = save_onnx(graph, folder / "tiny.onnx")
        row.detail = _size(artifacts["onnx"])
    if graph is None or onnx_card is None:
        for name in EXPORT_ROWS[2:]:
            rows.unavailable(name, "the ONNX export failed (see export: ONNX FP32)")
        return artifacts
    with rows.check("export: ONNX FP16") as row:
        half, kept = convert_to_fp16(graph)
        set_card(half, onnx_card.replace(precision="fp16"))
        artifacts["onnx-fp16"] = save_onnx(half, folder / "tiny.fp16.onnx")
        row.detail = f"{_size(artifacts['onnx-fp16'])}, {len(kept)} nodes kept in FP32"
    # Calibration windows from another rendered video than the parity windows (seed 0) the runs are checked on.
    windows = parity_windows(onnx_card, 16, seed=3)
    with rows.check("export: ONNX INT8") as row:
        quantized, _, _ = int8_graph(graph, onnx_card, windows, CALIBRATION, "cpu")
        artifacts["onnx-int8"] = save_onnx(quantized, folder / "tiny.int8.onnx")
        row.detail = f"{_size(artifacts['onnx-int8'])}, cpu target, calibrated on {len(windows)} windows"
    trt_missing = missing_for_tensorrt()
    if trt_missing:
        for name in ("export: TensorRT FP16 plan", "export: TensorRT INT8 plan"):
            rows.unavailable(name, "; ".join(trt_missing))
        return artifacts
    from flame.export.tensorrt_build import build_plan

    with rows.check("export: TensorRT FP16 plan") as row:
        build = build_plan(graph, folder / "tiny.fp16.plan", onnx_card, fp16=True, workspace_mb=256)
        artifacts["tensorrt"] = folder / "tiny.fp16.plan"
        row.detail = (f"{_size(artifacts['tensorrt'])}, built in {build.seconds:.1f} s with TensorRT "
                      f"{build.card.tensorrt_version} on {build.card.gpu_name}")
    with rows.check("export: TensorRT INT8 plan") as row:
        quantized, int8_card, _ = int8_graph(graph, onnx_card, windows, CALIBRATION, "tensorrt")
        build = build_plan(quantized, folder / "tiny.int8.plan", int8_card, fp16=False, int8=True, workspace_mb=256)
        artifacts["tensorrt-int8"] = folder / "tiny.int8.plan"
        row.detail = (f"{_size(artifacts['tensorrt-int8'])}, tensorrt target (strongly typed), built in "
                      f"{build.seconds:.1f} s")
    return artifacts


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.1f} MB"
