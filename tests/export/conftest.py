"""Fixtures of the export tests: one sharpened checkpoint and its exports per session."""

from __future__ import annotations

import pytest

from flame_testing import engine_artifacts


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> engine_artifacts.Artifacts:
    """Shared checkpoint and exports (see engine_artifacts.py)."""
    return engine_artifacts.artifacts(tmp_path_factory)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run torch on one thread in these modules (restored after each).

    The inputs are 64x128, too small to gain from a second thread, and on a
    shared 2-core machine OpenMP's barrier waits on a descheduled thread:
    measured 36 ms per forward on one thread against 80-1000 ms on two.
    """
    with engine_artifacts.torch_threads(1):
        yield
