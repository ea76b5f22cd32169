"""The engine ``flame-doctor --self-test`` ships: small, installed with the package, equal to its PyTorch reference.

``flame/apps/selftest/probe.onnx`` and ``probe.npz`` are written by
``scripts/make_selftest_engine.py``; these tests rebuild the PyTorch network
from the shipped graph's weights and regenerate the files, so a shipped file
that drifts from the reference (or from the script) fails here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from flame.apps.shipped_build import build_shipped, probe_card, probe_frames, probe_network, reference_labels
from flame.apps.shipped_engine import run_shipped, shipped_files

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_files_are_small_and_declared_as_package_data():
    onnx_path, data_path = shipped_files()
    assert onnx_path.stat().st_size + data_path.stat().st_size < 24_000
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert sorted(package_data["flame.apps"]) == sorted(f"selftest/{p.name}" for p in (onnx_path, data_path))
    assert onnx_path.parent == ROOT / "flame" / "apps" / "selftest"


def test_the_shipped_labels_are_the_pytorch_reference_of_the_shipped_weights():
    import onnx
    from onnx import numpy_helper

    onnx_path, data_path = shipped_files()
    graph = onnx.load(str(onnx_path))
    weights = {i.name.removeprefix("model."): numpy_helper.to_array(i) for i in graph.graph.initializer
               if i.name.startswith("model.")}
    with np.load(data_path) as data:
        frames, labels = data["frames"], data["labels"]
    assert np.array_equal(frames, probe_frames()[0])
    expected = reference_labels(probe_network(weights), probe_card(), frames)
    assert np.array_equal(expected, labels)
    assert len(np.unique(labels)) >= 4  # a real segmentation, not one class


def test_regenerating_gives_the_shipped_labels(tmp_path):
    onnx_path, data_path = build_shipped(tmp_path)
    with np.load(data_path) as fresh, np.load(shipped_files()[1]) as shipped:
        assert np.array_equal(fresh["frames"], shipped["frames"])
        assert (fresh["labels"] == shipped["labels"]).mean() >= 0.999  # float summation order may differ


def test_the_stream_loop_on_the_cpu_gives_the_reference_labels_and_a_fault_is_seen():
    onnx_path, data_path = shipped_files()
    with np.load(data_path) as data:
        frames, labels = data["frames"], data["labels"]
    agreement, summary = run_shipped("CPUExecutionProvider", onnx_path, frames, labels)
    assert agreement == 1.0 and summary["frames_processed"] == 24 and summary["latency_ms"]["p50"] > 0
    wrong = labels.copy()
    wrong[0] = 0  # the first frame's labels all background: that frame and its repeats disagree
    agreement, _ = run_shipped("CPUExecutionProvider", onnx_path, frames, wrong)
    assert agreement == pytest.approx(1.0 - np.mean(labels[0] != 0) / len(labels), abs=1e-9)
