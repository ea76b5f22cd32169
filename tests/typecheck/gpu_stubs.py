"""Type stubs for mypy: TensorRT's from ``tensorrt-stubs``, cuda-bindings' generated from the installed module.

``tensorrt-stubs`` (TensorRT 10.13, installed with ``--no-deps``: it depends on
the TensorRT wheel) puts ``tensorrt/__init__.pyi`` straight into
site-packages without a ``py.typed`` marker, so mypy skips it there; its
``.pyi`` files are copied into the stub folder, with the few signatures that
are not valid Python mended (a parameter named ``in``; a parameter without a
default after one with a default) and nothing else changed.

cuda-bindings ships compiled Cython modules without ``.pyi`` files, so mypy
sees nothing in them. mypy's ``stubgen --inspect-mode`` reads the classes and
enums, but writes functions as untyped attributes; this rewrites each function
with its real parameters (``inspect.signature``) and the result tuple its
docstring's ``Returns`` section lists (``cudaError_t`` first, then the values),
so that mypy checks names, arity and result unpacking against the version
installed here.

    python tests/typecheck/gpu_stubs.py OUT_DIR   # then: MYPYPATH=OUT_DIR mypy
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
import subprocess
import sys
from pathlib import Path

MODULES = ("cuda.bindings.runtime", "cuda.bindings._internal._fast_enum")
_BUILTINS = {"int", "bytes", "str", "float", "bool"}
_FUNCTION = re.compile(r"^(\w+): _cython_[\w]+\.cython_function_or_method$")


def _result_types(doc: str, classes: set[str]) -> list[str]:
    """The types of the result tuple from a numpydoc ``Returns`` section."""
    lines = doc.split("\nReturns\n-------\n", 1)[1].splitlines() if "\nReturns\n-------\n" in doc else []
    types = []
    for line in lines:
        if not line.strip():
            break
        if line.startswith(" "):  # a description line
            continue
        kind = line.split(" : ", 1)[1] if " : " in line else line
        kind = re.sub(r":py:obj:`~?\.?([\w.]+)`", r"\1", kind).strip()
        if kind.startswith("cudaError_t"):
            types.append("cudaError_t")
        elif kind in _BUILTINS or kind in classes:
            types.append(kind)
        else:
            types.append("Any")
    return types


def _parameters(function: object) -> str:
    try:
        signature = inspect.signature(function)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "*args: Any, **kwargs: Any"
    names = []
    for p in signature.parameters.values():
        annotation = p.annotation if isinstance(p.annotation, str) else None
        text = p.name + (f": {annotation}" if annotation else "")
        if p.default is not inspect.Parameter.empty:
            text += " = ..."
        names.append(("*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else "") + text)
    return ", ".join(names)


def rewrite_functions(stub: str, module: object) -> str:
    """Replace ``name: cython_function_or_method`` lines with typed ``def`` stubs."""
    classes = {name for name, value in vars(module).items() if isinstance(value, type)}
    out = []
    for line in stub.splitlines():
        match = _FUNCTION.match(line)
        if match is None:
            out.append(line)
            continue
        name = match.group(1)
        function = getattr(module, name)
        results = _result_types(function.__doc__ or "", classes)
        returns = f"tuple[{', '.join(results)}]" if results and results[0] == "cudaError_t" else "Any"
        out.append(f"def {name}({_parameters(function)}) -> {returns}: ...")
    return "\n".join(out) + "\n"


_KEYWORD_PARAMETER = re.compile(r"([(,]\s*)in:")


def _mend_signature(line: str) -> str:
    """A ``def`` line of the TensorRT stubs made valid Python, or the line itself when it already is."""
    if not line.lstrip().startswith("def ") or not line.rstrip().endswith(":"):
        return line
    try:
        ast.parse(line.strip() + " ...")
        return line
    except SyntaxError:
        pass
    line = _KEYWORD_PARAMETER.sub(r"\1in_:", line)
    head, params = line.split("(", 1)
    params, tail = params.rsplit(")", 1)
    mended, defaulted = [], False
    for param in _split_parameters(params):
        defaulted = defaulted or "=" in param
        mended.append(param if "=" in param or not defaulted or param.strip().startswith("*") else param + " = ...")
    return f"{head}({', '.join(p.strip() for p in mended)}){tail}"


def _split_parameters(params: str) -> list[str]:
    """Split a parameter list on its top-level commas (not those inside ``list[a, b]``)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(params):
        depth += char in "[(" and 1 or char in "])" and -1 or 0
        if char == "," and depth == 0:
            parts.append(params[start:i])
            start = i + 1
    parts.append(params[start:])
    return [p for p in parts if p.strip()]


def copy_tensorrt_stubs(out_dir: Path) -> list[Path]:
    """Copy the ``.pyi`` files of the installed ``tensorrt-stubs`` under ``out_dir``.

    Raises:
        importlib.metadata.PackageNotFoundError: when tensorrt-stubs is not installed.
    """
    dist = importlib.metadata.distribution("tensorrt-stubs")
    written = []
    for file in dist.files or []:
        if file.suffix == ".pyi":
            target = Path(out_dir) / file
            target.parent.mkdir(parents=True, exist_ok=True)
            text = Path(str(dist.locate_file(file))).read_text()
            target.write_text("\n".join(_mend_signature(line) for line in text.splitlines()) + "\n")
            written.append(target)
    return written


def write_stubs(out_dir: Path) -> list[Path]:
    """TensorRT's and cuda-bindings' stubs under ``out_dir``; returns the files written."""
    out_dir = Path(out_dir)
    written = copy_tensorrt_stubs(out_dir)
    # mypy is compiled (mypyc): ``python -m mypy.stubgen`` does not run, its main() does.
    args = [sys.executable, "-c", "import sys; from mypy.stubgen import main; main(sys.argv[1:])",
            "--inspect-mode", "-o", str(out_dir)]
    for name in MODULES:
        args += ["-m", name]
    subprocess.run(args, check=True, capture_output=True, text=True)
    for name in MODULES:
        path = out_dir.joinpath(*name.split(".")).with_suffix(".pyi")
        path.write_text(rewrite_functions(path.read_text(), importlib.import_module(name)))
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_stubs(Path(sys.argv[1] if len(sys.argv) > 1 else ".typings")):
        print(written_path)
