"""Fixtures of the export tests: one sharpened checkpoint and its exports per session."""

from __future__ import annotations

import pytest

import engine_artifacts


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> engine_artifacts.Artifacts:
    """Shared checkpoint and exports (see engine_artifacts.py)."""
    return engine_artifacts.artifacts(tmp_path_factory)
