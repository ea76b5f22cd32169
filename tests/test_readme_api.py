"""The docs' Python API block runs as written, and the packages export what it (and a new user) needs."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from flame_testing.tiny_engines import write_tiny_onnx

from flame.core.offsets import frame_offset
from flame.evaluation.datasets import SyntheticSpec, load_folder, write_synthetic

ROOT = Path(__file__).resolve().parents[1]


def readme_block(heading: str) -> str:
    """The first ```python block of the docs page titled ``# heading`` (the Python API page)."""
    page = next(p for p in (ROOT / "docs").rglob("*.md") if p.read_text().startswith(f"# {heading}\n"))
    match = re.search(r"```python\n(.*?)```", page.read_text(), re.S)
    assert match, f"{page} has no python block"
    return match.group(1)


def test_readme_python_api_runs(tmp_path, monkeypatch):
    spec = SyntheticSpec(size=(48, 64), fps=30.0, frames=6, sequences=1, val_sequences=1, seed=1)
    write_synthetic(spec, tmp_path / "synth")
    dataset = load_folder(tmp_path / "synth", "val")
    write_tiny_onnx(tmp_path / "model.onnx", window=2, size=(32, 64), fps=30.0, classes=dataset.num_classes)
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(readme_block("Python API"), "docs/api.md", "exec"), namespace)
    line = printed.getvalue().strip()
    found = re.fullmatch(r"p50 ([\d.]+) ms, k = (\d+): mIoU ([\d.]+), FLAME ([\d.]+), streaming FLAME ([\d.]+)", line)
    assert found, line
    run, result = namespace["run"], namespace["result"]
    p50, k = namespace["latency_ms"], int(found.group(2))
    # Every frame of the first sequence went through the loop; k is the offset of its p50 at 30 fps.
    assert run.frames_processed == spec.frames and k == frame_offset(p50 / 1000, 30.0)
    annotated = sum(len(s.annotated) for s in dataset.sequences)
    assert result.static.pairs == result.flame[k].pairs == result.streaming.pairs == annotated
    # Without a frame before it, the first annotated frame of each sequence is a miss at k = 0 (window 2).
    assert result.static.missed == len(dataset.sequences)
    assert all(0.0 <= float(found.group(i)) <= 1.0 for i in (3, 4, 5))


@pytest.mark.parametrize("package, names", [
    ("flame.evaluation", ("ConfusionMatrix", "evaluate", "PredictorSource", "open_dataset", "SequenceDataset")),
    ("flame.runtime", ("load_engine", "Engine", "open_source", "Stream", "ModelCard", "read_run_report")),
])
def test_packages_export_their_main_names(package, names):
    import importlib

    module = importlib.import_module(package)
    assert set(names) <= set(module.__all__) <= set(dir(module))
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_the_documented_card_example_is_a_valid_card():
    from flame.core.card import ModelCard

    text = (ROOT / "docs" / "architecture.md").read_text()
    example = re.search(r"```json\n(.*?)```", text, re.S).group(1)
    card = ModelCard.from_json(example, "docs/architecture.md")
    assert card.window == 2 and card.output == "labels" and card.format_version == 1
    # Every field of the card is in the documented table.
    import dataclasses

    for field in dataclasses.fields(ModelCard):
        assert f"`{field.name}`" in text, field.name
