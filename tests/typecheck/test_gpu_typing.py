"""mypy checks the TensorRT and cuda-bindings calls against the real APIs, on machines without either.

The TensorRT and CUDA code cannot run here (no GPU), so a misspelt method or a
wrong argument count would first show on a user's robot. mypy reads the
modules listed in pyproject.toml's ``[tool.mypy]`` against TensorRT 10's stubs
and stubs generated from the installed cuda-bindings (gpu_stubs.py).

Skipped when mypy, tensorrt-stubs or cuda-bindings is missing, except in CI
(``CI`` set), where a missing tool fails: .ci/run installs them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gpu_stubs

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["flame/runtime/engines/cudart.py", "flame/runtime/engines/tensorrt.py", "flame/runtime/engines/tensorrt_logger.py",
           "flame/runtime/engines/tensorrt_dtypes.py", "flame/export/tensorrt_build.py"]


def _missing_tools() -> list[str]:
    missing = []
    if importlib.util.find_spec("mypy") is None:
        missing.append("mypy")
    try:
        importlib.metadata.distribution("tensorrt-stubs")
    except importlib.metadata.PackageNotFoundError:
        missing.append("tensorrt-stubs (pip install --no-deps tensorrt-stubs)")
    try:
        if importlib.util.find_spec("cuda.bindings.runtime") is None:
            missing.append("cuda-bindings")
    except ImportError:
        missing.append("cuda-bindings")
    return missing


MISSING = _missing_tools()
if MISSING and not os.environ.get("CI"):
    pytest.skip("type checking needs " + ", ".join(MISSING), allow_module_level=True)


@pytest.fixture(scope="module")
def stub_dir(tmp_path_factory) -> Path:
    assert not MISSING, "CI must install " + ", ".join(MISSING)
    out = tmp_path_factory.mktemp("stubs")
    written = gpu_stubs.write_stubs(out)
    assert {p.relative_to(out).as_posix() for p in written} >= {
        "tensorrt/__init__.pyi", "tensorrt_bindings/tensorrt.pyi", "cuda/bindings/runtime.pyi"}
    return out


def _mypy(stub_dir: Path, *files: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "MYPYPATH": str(stub_dir)}
    # mypy is compiled (mypyc): its api module runs it in a clean interpreter.
    code = "import sys; from mypy import api; out, err, rc = api.run(sys.argv[1:]); print(out + err); sys.exit(rc)"
    args = [sys.executable, "-c", code, "--config-file", str(ROOT / "pyproject.toml"), "--no-incremental", *files]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_stubs_are_the_installed_versions(stub_dir):
    runtime_stub = (stub_dir / "cuda/bindings/runtime.pyi").read_text()
    # Functions carry their parameters and the result tuple from their docstring.
    assert "def cudaGetDeviceCount() -> tuple[cudaError_t, int]: ..." in runtime_stub
    assert re.search(r"def cudaMemcpyAsync\(dst, src, count, kind: cudaMemcpyKind, stream\) -> tuple\[cudaError_t\]",
                     runtime_stub)
    trt_stub = (stub_dir / "tensorrt/__init__.pyi").read_text()
    version = importlib.metadata.version("tensorrt-stubs")
    assert f"__version__: str = '{'.'.join(version.split('.')[:4])}'" in trt_stub


def test_gpu_modules_type_check(stub_dir):
    done = _mypy(stub_dir, *MODULES)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"Success: no issues found in {len(MODULES)} source files" in done.stdout


@pytest.mark.parametrize("module, real, wrong, message", [
    ("flame/runtime/engines/tensorrt.py", "execute_async_v3(", "execute_async_v4(",
     '"IExecutionContext" has no attribute "execute_async_v4"'),
    ("flame/runtime/engines/cudart.py", "cudaStreamSynchronize(", "cudaStreamSynchronise(",
     'Module has no attribute "cudaStreamSynchronise"'),
    ("flame/export/tensorrt_build.py", "builder.create_network(flags)", "builder.create_network(flags, 1)",
     'Too many arguments for "create_network" of "Builder"'),
])
def test_a_wrong_call_fails_the_check(stub_dir, tmp_path, module, real, wrong, message):
    # A copy of the tree with one call broken: mypy must name it.
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, symlinks=True, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info",
                                                                               "runs", "out", ".mypy_cache"))
    source = (tree / module).resolve()
    text = source.read_text()
    assert real in text
    source.write_text(text.replace(real, wrong, 1))
    done = _mypy(stub_dir, *MODULES, cwd=tree)
    assert done.returncode == 1, done.stdout[-4000:]
    assert message in done.stdout, done.stdout[-4000:]
