"""flame-demo --quick end to end, as a real subprocess (about a minute on two cores)."""

import json
import subprocess

from flame.core.offsets import frame_offset
from flame.trainer.checkpoint import read_checkpoint


def test_flame_demo_quick(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run(["flame-demo", "--quick", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "FLAME: trained I_t-1, I_t -> S_t+k" in proc.stdout and "frame offset k" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    rows = {row["mode"]: row for row in report["rows"]}
    # The street world by default, its forecast row the dense forecaster's.
    assert report["world"] == "street" and report["forecast_row"] == "static+dense"
    assert list(rows) == ["static", "future", "two-frame", "static+dense"]
    for mode, row in rows.items():
        for key in ("mode", "miou", "flame", "streaming_flame", "k", "latency_ms"):
            assert key in row, (mode, key)
        assert 0.0 <= row["flame"] <= 1.0 and row["k"] == report["k"] >= 1
    static = rows["static"]
    assert report["k"] == max(1, frame_offset(static["latency_ms"]["value"] / 1000, report["fps"]))
    assert rows["two-frame"]["window"] == 2 and rows["future"]["trained_offset"] == report["k"]
    # The fourth row is the static engine with the forecast: same mIoU, its cost in its latency.
    dense = rows["static+dense"]
    assert dense["engine"] == static["engine"] and dense["miou"] == static["miou"]
    assert dense["forecast"]["method"] == "dense" and dense["latency_ms"]["forecast_ms"] > 0
    assert dense["latency_ms"]["value"] == static["latency_ms"]["value"] + dense["latency_ms"]["forecast_ms"]
    assert "FLAME: trained I_t -> S_t, dense forecast" in proc.stdout
    # Every row was fine-tuned from the same base for as long (the static row too).
    assert (out / "base" / "last.pt").is_file()
    for mode in ("static", "future", "two-frame"):
        config = read_checkpoint(out / mode / "last.pt")["config"]
        assert config["init"] == str((out / "base" / "last.pt").resolve()), mode
        assert f"fine-tuning the base as the {mode} model" in proc.stdout + proc.stderr
    assert (out / "flame_vs_latency.png").stat().st_size > 10_000
    assert (out / "two-frame" / "last.onnx").is_file() and (out / "static" / "last.pt").is_file()
    # Issue 22: the disk the run took is reported and printed; best.pt is weights and card, not a copy of last.pt.
    used = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert abs(report["disk_mb"] - used / 1e6) < 0.1
    assert f"{report['disk_mb']:.0f} MB on disk in {out}" in " ".join(proc.stdout.split())
    for mode in ("static", "future", "two-frame"):
        assert (out / mode / "best.pt").stat().st_size < 0.5 * (out / mode / "last.pt").stat().st_size, mode
