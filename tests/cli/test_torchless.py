"""A base install without the [train] extra: each torch command says in one line which extra to install.

The subprocesses run with a ``sitecustomize`` on ``PYTHONPATH`` whose import
hook raises ``ModuleNotFoundError`` for torch and the other modules of the
[train] extra, as on a robot that installed only the base package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HIDDEN = ("torch", "onnx", "onnxscript", "onnxconverter_common", "matplotlib", "psutil")


def _blocker(folder: Path, hidden: tuple[str, ...]) -> Path:
    """A folder whose ``sitecustomize`` makes ``hidden`` modules unimportable."""
    (folder / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import sys
        from importlib.abc import MetaPathFinder

        class HideTrainExtra(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {hidden!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, HideTrainExtra())
    """))
    return folder


@pytest.fixture(scope="module")
def torchless(tmp_path_factory) -> Path:
    folder = _blocker(tmp_path_factory.mktemp("torchless"), HIDDEN)
    (folder / "best.pt").write_bytes(b"not read: torch is missing")
    return folder


def _command(torchless: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(torchless), str(ROOT)]), "COLUMNS": "200"}
    code = f"import sys; from flame.cli.{module} import main; sys.argv[0] = 'flame-{module}'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=torchless, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_blocker_hides_torch(torchless):
    env = {**os.environ, "PYTHONPATH": str(torchless)}
    done = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "No module named 'torch'" in done.stderr


@pytest.mark.parametrize("module, args", [
    ("export", ["best.pt"]),
    ("train", ["--model", "swiftnet-r18", "--out", "run"]),
    ("demo", ["--quick", "--out", "demo"]),
    ("bench", ["best.pt"]),
    ("eval", ["--checkpoint", "best.pt"]),
])
def test_torch_commands_name_the_extra_in_one_line(torchless, module, args):
    done = _command(torchless, module, *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: torch is not installed (checkpoints, training and export need it): "
                               "pip install -e '.[train]'")
    assert "CPU-only torch" in lines[0]
    # Nothing was started before the check: no data set, no run folder.
    assert not (torchless / "demo").exists() and not (torchless / "run").exists()


def test_engine_commands_and_the_doctor_work_without_torch(torchless):
    for module in ("run", "eval", "export", "train", "demo", "bench", "data"):
        done = _command(torchless, module, "--help")
        assert done.returncode == 0 and "Traceback" not in done.stderr, (module, done.stderr)
    assert "install the [train] extra to list them" in " ".join(_command(torchless, "train", "--help").stdout.split())
    done = _command(torchless, "doctor", "--self-test", "--json", "doctor.json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "torch is not installed (checkpoints, training and export need it)" in done.stdout
    # Issue 22: the shipped engine proves ONNX Runtime through the stream loop without torch; the network,
    # the six exports and the two training rows each say torch is missing.
    rows = {row["name"]: row for row in json.loads((torchless / "doctor.json").read_text())["self_test"]}
    cpu = rows["run: shipped ONNX engine on CPU, stream loop"]
    assert cpu["status"] == "ok" and cpu["agreement"] == 1.0 and cpu["latency_ms"] > 0, cpu
    assert "24 frames" in cpu["detail"] and "latency p50" in cpu["detail"]
    shipped = [name for name in rows if name.startswith("run: shipped ONNX engine on ")]
    import onnxruntime as ort

    assert len(shipped) == len([p for p in ort.get_available_providers() if p != "AzureExecutionProvider"])
    needs_torch = [row for name, row in rows.items() if name not in shipped]
    assert len(needs_torch) == 9 and all(row["status"] == "unavailable" and row["detail"].startswith(
        "torch is not installed (checkpoints, training and export need it)") for row in needs_torch)
    assert f"{len(shipped)} checks passed, none failed, 9 unavailable here" in done.stdout


def test_the_self_test_exits_1_when_nothing_can_be_checked(tmp_path):
    # Neither torch nor ONNX Runtime: no check can run, and "0 passed, none failed" is no proof (issue 22).
    folder = _blocker(tmp_path, (*HIDDEN, "onnxruntime"))
    done = _command(folder, "doctor", "--self-test", "--json", "doctor.json")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nothing could be checked here: all 10 checks unavailable" in done.stdout
    shipped = json.loads((folder / "doctor.json").read_text())["self_test"][0]
    assert shipped == {"name": "run: shipped ONNX engine", "status": "unavailable", "seconds": None,
                       "detail": "the .onnx engine needs ONNX Runtime: pip install onnxruntime (or onnxruntime-gpu)",
                       "latency_ms": None, "agreement": None}
