"""JSON written by FLAME: numpy values as numbers, undefined figures as null."""

from __future__ import annotations

import json
import math

import numpy as np

from flame.core.files import json_safe, write_json


def test_json_safe_cleans_nan_inf_and_numpy():
    value = {"a": float("nan"), "b": [1.5, float("inf"), -math.inf], "c": (np.float32(2.5), np.int64(3)),
             "d": np.array([[1.0, np.nan], [np.inf, 4.0]]), "e": np.float64("nan"), "f": {"g": np.bool_(True)},
             "h": "nan", "i": None, "j": 0}
    assert json_safe(value) == {"a": None, "b": [1.5, None, None], "c": [2.5, 3], "d": [[1.0, None], [None, 4.0]],
                                "e": None, "f": {"g": True}, "h": "nan", "i": None, "j": 0}
    cleaned = json_safe(value)
    assert type(cleaned["c"][1]) is int and type(cleaned["f"]["g"]) is bool


def test_write_json_round_trip(tmp_path):
    path = write_json(tmp_path / "r.json", {"miou": np.float32(0.5), "iou": np.array([np.nan, 1.0, -np.inf])})
    assert json.loads(path.read_text()) == {"miou": 0.5, "iou": [None, 1.0, None]}
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary name
