"""numpy dtypes of TensorRT tensor types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from flame.core.errors import EngineError

#: numpy dtypes of TensorRT data types, by name (fallback when ``trt.nptype`` lacks one).
_NUMPY_TYPES = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32,
                "INT64": np.int64, "BOOL": np.bool_, "UINT8": np.uint8}


def numpy_dtype(nptype: Callable[[Any], Any], dtype: Any) -> np.dtype:
    """The numpy dtype of a TensorRT ``DataType``.

    Args:
        nptype: ``tensorrt.nptype`` (TensorRT's own mapping).
        dtype: a ``tensorrt.DataType``.

    Raises:
        EngineError: for types numpy cannot hold (BF16, FP8, INT4).
    """
    try:
        return np.dtype(nptype(dtype))
    except (TypeError, AttributeError) as exc:
        name = getattr(dtype, "name", str(dtype)).split(".")[-1]
        if name not in _NUMPY_TYPES:
            raise EngineError(f"TensorRT tensor type {name} has no numpy equivalent") from exc
        return np.dtype(_NUMPY_TYPES[name])
