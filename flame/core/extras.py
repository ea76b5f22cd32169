"""Which optional extra provides which module, and one error that names it.

The base install (numpy, OpenCV, ONNX Runtime) runs engines on a robot;
training, checkpoints and export need the ``[train]`` extra (torch, onnx...),
TensorRT plans the ``[tensorrt]`` extra. Whatever needs an extra says which
one in a single line, instead of a ``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

import importlib.util

from flame.core.errors import DependencyError, FlameError

#: Top-level module -> the extra that installs it.
EXTRA_OF = {
    "torch": "train",
    "onnx": "train",
    "onnxscript": "train",
    "onnxconverter_common": "train",
    "matplotlib": "train",
    "psutil": "train",
    "tensorrt": "tensorrt",
    "cuda": "tensorrt",
}

#: What needs each extra, and what to add to its install command.
_NEEDS = {"train": "checkpoints, training and export need it", "tensorrt": "TensorRT plans need it"}
_NOTES = {
    "train": "; without a GPU, install the CPU-only torch first (README: 'CPU-only torch')",
    "tensorrt": " on a machine with an NVIDIA GPU and its driver",
}


class MissingExtraError(DependencyError, ModuleNotFoundError):
    """A module of an optional extra is not installed.

    Also a ``ModuleNotFoundError``, so ``except ImportError`` keeps working.

    Args:
        message: the one line to show.
        name: the missing module (``ImportError.name``).
    """

    def __init__(self, message: str, name: str = "") -> None:
        FlameError.__init__(self, message)
        self.name = name
        self.msg = self.render()


def install_hint(module: str) -> str | None:
    """One line saying that ``module`` is missing and which extra installs it; None for a module of no extra."""
    root = module.split(".")[0]
    extra = EXTRA_OF.get(root)
    if extra is None:
        return None
    return f"{root} is not installed ({_NEEDS[extra]}): pip install -e '.[{extra}]'{_NOTES[extra]}"


def _installed(module: str) -> bool:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a parent package is missing
        return False
    return spec is not None and spec.origin is not None  # a folder of type stubs alone is not the module


def require_extra(*modules: str) -> None:
    """Check that ``modules`` are installed before anything imports them.

    Args:
        modules: top-level module names, each in :data:`EXTRA_OF`.

    Raises:
        MissingExtraError: naming the first missing module and the extra to install.
    """
    for module in modules:
        if not _installed(module):
            raise MissingExtraError(install_hint(module) or f"{module} is not installed", name=module)
