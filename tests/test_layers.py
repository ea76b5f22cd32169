"""The layers of docs/architecture.md hold: import-linter's contracts (pyproject.toml) run in the suite.

Every import counts, those inside functions too, so a lazy ``import torch`` in
``flame.evaluation`` or ``flame.runtime`` breaks the build here, not on a robot.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept():
    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command())"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
    # Four contracts: layers, independence, no torch below the trainer, a bare core.
    assert "Contracts: 4 kept" in done.stdout
