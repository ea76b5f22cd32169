"""Optional dependencies: a failed import becomes a :class:`DependencyError` that says what to install.

The import stays a plain ``import`` statement inside the block, so
import-linter still sees which layer imports what::

    with needs("the .pt2 engine", "PyTorch", "pip install torch"):
        import torch
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flame.core.errors import DependencyError, first_line


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
