"""Optional dependencies: a failed import becomes a :class:`DependencyError` that says what to install.

The import stays a plain ``import`` statement inside the block, so
import-linter still sees which layer imports what::

    with needs("the .pt2 engine", "PyTorch", "pip install torch"):
        import torch

Which optional extra installs which module is :data:`EXTRA_OF`: the base
install (numpy, OpenCV, ONNX Runtime) runs engines on a robot; training,
checkpoints and export need the ``[train]`` extra (torch, onnx...), TensorRT
plans the ``[tensorrt]`` extra. :func:`require_extra` checks an extra before
any work starts, and :func:`install_hint` gives the commands their one line
for a ``ModuleNotFoundError`` of such a module, instead of a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator

from flame.core.errors import DependencyError, FlameError, first_line


@contextlib.contextmanager
def needs(purpose: str, package: str, install: str) -> Iterator[None]:
    """Turn an ImportError raised in the block into one line: ``{purpose} needs {package}: {install}``.

    Wrap only the imports of the dependency itself: any ImportError in the
    block is blamed on ``package``.

    Args:
        purpose: what needs the package, the subject of "needs" (``FP16 export``, ``flame-train``).
        package: the name people know it by (``PyTorch``, ``ONNX Runtime``).
        install: how to get it (``pip install torch``).

    Raises:
        DependencyError: chained to the ImportError. A module that is found but
            fails to load (a missing shared library, a name an older version
            lacks) is said to be installed but broken, with the import's first line.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        raise DependencyError(f"{purpose} needs {package}: {install}") from exc
    except ImportError as exc:
        raise DependencyError(f"{purpose} needs {package}, which is installed but does not import "
                              f"({first_line(exc)}); reinstall it: {install}") from exc


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
    "train": "; without a GPU, install the CPU-only torch first (docs: Getting started, 'CPU-only torch')",
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


def installed(module: str) -> bool:
    """Whether ``module`` is installed as code (a folder of type stubs alone, a namespace package, is not)."""
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
        if not installed(module):
            raise MissingExtraError(install_hint(module) or f"{module} is not installed", name=module)
