"""Optional dependencies: a failed import becomes one line naming the package and how to install it."""

from __future__ import annotations

import sys

import pytest

from flame.apps.plots import plot_report
from flame.core.deps import needs
from flame.core.errors import DependencyError
from flame.export.fp16 import convert_to_fp16
from flame.export.onnx_export import load_onnx, to_onnx
from flame.runtime.engines.cudart import require_bindings
from flame.runtime.engines.onnxrt import OnnxRuntimeEngine
from flame.runtime.engines.torch_export import read_program_card


def test_a_missing_module_names_the_package_and_the_install_command():
    with pytest.raises(DependencyError) as info:
        with needs("the frobnicator", "Frob", "pip install frob"):
            import flame_no_such_module  # noqa: F401
    assert str(info.value) == "the frobnicator needs Frob: pip install frob"
    assert isinstance(info.value.__cause__, ModuleNotFoundError) and info.value.parameter is None


def test_an_installed_module_that_fails_to_load_is_called_broken(tmp_path, monkeypatch):
    package = tmp_path / "flame_broken_dep"
    package.mkdir()
    (package / "__init__.py").write_text('raise ImportError("libfrob.so.1: cannot open shared object file")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DependencyError) as info:
        with needs("the frobnicator", "Frob", "pip install frob"):
            import flame_broken_dep  # noqa: F401
    assert str(info.value) == ("the frobnicator needs Frob, which is installed but does not import "
                               "(libfrob.so.1: cannot open shared object file); reinstall it: pip install frob")
    assert type(info.value.__cause__) is ImportError


def test_a_working_import_passes_and_other_errors_are_not_touched():
    with needs("the frobnicator", "JSON", "pip install json"):
        import json
    assert json.loads("[1]") == [1]
    with pytest.raises(ValueError, match="not an import"):
        with needs("the frobnicator", "JSON", "pip install json"):
            raise ValueError("not an import")


# Each call stops at its import, before reading its arguments (hence the None models and cards).
@pytest.mark.parametrize("blocked, call, message", [
    ("onnxruntime", lambda tmp: OnnxRuntimeEngine(tmp / "m.onnx"),
     "the .onnx engine needs ONNX Runtime: pip install onnxruntime (or onnxruntime-gpu)"),
    ("torch", lambda tmp: read_program_card(tmp / "m.pt2"), "the .pt2 engine needs PyTorch: pip install torch"),
    ("cuda.bindings", lambda tmp: require_bindings(),
     "the TensorRT backend needs cuda-bindings: pip install cuda-bindings (or pip install -e '.[tensorrt]')"),
    ("onnxconverter_common", lambda tmp: convert_to_fp16(None),
     "FP16 export needs onnxconverter-common: pip install onnxconverter-common (or pip install -e '.[train]')"),
    ("onnx", lambda tmp: load_onnx(tmp / "m.onnx"),
     "ONNX export needs onnx and onnxscript: pip install onnx onnxscript (or pip install -e '.[train]')"),
    ("onnxscript", lambda tmp: to_onnx(None, None),
     "ONNX export needs onnx and onnxscript: pip install onnx onnxscript (or pip install -e '.[train]')"),
    ("matplotlib", lambda tmp: plot_report({}, tmp / "p.png"),
     "plotting needs matplotlib: pip install matplotlib (or the [train] extra)"),
])
def test_each_optional_import_says_what_to_install(blocked, call, message, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, blocked, None)  # as if not installed: importing it raises ModuleNotFoundError
    with pytest.raises(DependencyError) as info:
        call(tmp_path)
    assert str(info.value) == message
