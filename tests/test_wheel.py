"""The wheel holds every module of the checkout, and the installed wheel, not the checkout, runs.

Packages are found by setuptools from the layout (``[tool.setuptools.packages.find]``); this catches a
subpackage the build would leave out while the checkout still imports it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def checkout_modules() -> set[str]:
    """``flame/...py`` paths of every module under flame/, through its symlinked layers."""
    found = set()
    for folder, dirs, files in os.walk(ROOT / "flame", followlinks=True):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        relative = Path(folder).relative_to(ROOT)
        found |= {str(relative / name) for name in files if name.endswith(".py")}
    return found


def test_the_built_wheel_holds_every_module_and_runs_when_installed(tmp_path):
    # Build from a copy, so the checkout gets no build/ or egg-info folder from the test.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "build", "dist", "*.egg-info", ".venv", "site", "tests", "benchmarks", "docs"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("flame_rt-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = checkout_modules()
    assert len(modules) > 100 and "flame/media/bag.py" in modules and "flame/evaluation/protocols.py" in modules
    missing = sorted(modules - names)
    assert not missing, f"modules the wheel leaves out: {missing}"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    where = subprocess.run([str(python), "-c", "import flame.media, flame; print(flame.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, env=env, timeout=120)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel's copy, not the checkout
    doctor = subprocess.run([str(venv / "bin" / "flame-doctor")], cwd=tmp_path, capture_output=True, text=True,
                            env=env, timeout=300)
    assert doctor.returncode == 0, doctor.stderr
    assert "ONNX Runtime" in doctor.stdout and "flame-rt" in doctor.stdout
