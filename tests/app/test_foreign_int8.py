"""INT8 of a wrapped foreign model: the wrapped graph is quantised like a checkpoint's, checked against the model."""

import numpy as np
import onnx
import pytest

from flame.evaluation.datasets import open_dataset
from flame.export import int8
from flame.export.foreign import export_foreign

SIZE = (64, 128)


@pytest.fixture(scope="module")
def splits(tiny_data):
    return open_dataset("synthetic", tiny_data, "train"), open_dataset("synthetic", tiny_data, "val")


@pytest.mark.parametrize("target", int8.TARGETS)
def test_int8_of_a_wrapped_foreign_model(foreign, splits, tmp_path, target):
    train, val = splits
    out = tmp_path / f"seg.flame.int8-{target}.onnx"
    result = export_foreign(foreign["torchvision"], out, size=SIZE, classes=foreign["classes"], int8=True,
                            int8_target=target, calibration=train, calibration_frames=16, validation=val)
    parity = result.parity
    assert result.card.precision == "int8" and result.card.architecture == "foreign"
    assert result.card.extra["int8"] == {"target": target, "calibration": train.name, "windows": 16}
    assert parity.reference.startswith("the foreign model") and parity.precision == "int8"
    assert parity.passed and 0.97 <= parity.agreement <= 1.0, parity.summary()
    assert parity.miou_dataset == val.name and abs(parity.miou_change) < 0.03
    model = onnx.load(str(out))
    assert sum(node.op_type == "QuantizeLinear" for node in model.graph.node) > 0
    zero_points = int8.zero_points(model)
    if target == "tensorrt":
        assert zero_points and int8.nonzero_zero_points(model) == []
    else:
        assert {zp.dtype for zp in zero_points.values()} >= {np.dtype(np.uint8)}
    assert any("INT8" in note for note in result.notes)
