"""``flame-doctor``'s report: what this machine has (:mod:`flame.apps.environment`) and, with the
self-test, proof that each deployment path works on it (:mod:`flame.apps.self_test`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flame.apps.environment import Fact
from flame.apps.self_test import Check, exit_status


def report(facts: list[Fact], checks: list[Check] | None) -> dict[str, Any]:
    """The JSON document of ``--json``."""
    return {"environment": {f.name: f.value for f in facts},
            "self_test": None if checks is None else [asdict(c) for c in checks],
            "exit_status": 0 if checks is None else exit_status(checks)}
