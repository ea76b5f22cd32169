"""Write the engine ``flame-doctor --self-test`` ships (flame/apps/selftest/probe.onnx and probe.npz).

Run from the repository root after changing :mod:`flame.apps.shipped_build` (needs the [train] extra)::

    python scripts/make_selftest_engine.py

``tests/app/test_shipped_engine.py`` checks the shipped files against the PyTorch reference.
"""

from __future__ import annotations

from pathlib import Path

from flame.apps.shipped_build import build_shipped

if __name__ == "__main__":
    folder = Path(__file__).resolve().parents[1] / "flame" / "apps" / "selftest"
    for path in build_shipped(folder):
        print(f"{path} ({path.stat().st_size} bytes)")
