"""Reading the JSON reports the commands write (run, evaluation, bench): one file check, one kind and version check.

Every report names its kind and version (``"report": "flame-run", "version": 1``);
a reader refuses another kind and a version it does not know, and reads a file
written before versions were added (version 0, the same fields) when the
report's own key says what it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from flame.core.errors import DataError


def read_json_report(path: str | os.PathLike, what: str) -> Any:
    """The JSON value of a report file.

    Raises:
        DataError: when the file is missing or not JSON, naming ``what`` (``run report``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} {path} does not exist")
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path} is not a JSON {what} ({exc})") from exc


def check_kind(data: Any, kind: str, version: int, where: str, unversioned: str | None = None) -> int:
    """The version of a report's JSON object, checked: ``kind`` and a version up to ``version``.

    Args:
        data: the JSON value read.
        kind: the report's ``"report"`` key (``flame-run``).
        version: the newest version this FLAME reads.
        where: the file, for messages.
        unversioned: a key that marks a report written before versions were added (read as version 0);
            None: every report of the kind carries its version.

    Raises:
        DataError: on another kind of file or an unknown version.
    """
    if isinstance(data, dict) and unversioned is not None and "report" not in data and unversioned in data:
        return 0
    if not isinstance(data, dict) or data.get("report") != kind:
        raise DataError(f"{where} is not a {kind} report (no \"report\": \"{kind}\")")
    found = data.get("version")
    if not isinstance(found, int) or isinstance(found, bool) or not 1 <= found <= version:
        raise DataError(f"{where}: {kind} report version {found!r} is not supported "
                        f"(this FLAME reads version {version})")
    return found
