"""k = ceil(latency * fps), exact multiples not bumped."""

import pytest

from flame.core.errors import ConfigError
from flame.core.offsets import frame_offset as evaluation_frame_offset
from flame.core.offsets import frame_offset


@pytest.mark.parametrize(
    "latency_s, fps, k",
    [
        (0.0, 17.0, 0),            # static
        (0.06, 1 / 0.06, 1),       # l = d exactly: not bumped to 2 by float error
        (0.12, 1 / 0.06, 2),
        (0.18, 1 / 0.06, 3),       # 0.18 * 16.666... = 3.0000000000000004
        (0.0601, 1 / 0.06, 2),
        (0.026, 16.667, 1),        # SwiftNet-R18 in the paper
        (0.038, 1 / 0.06, 1),      # SwiftNet-R18-X
        (0.076, 1 / 0.06, 2),      # DeepLab-MN
        (0.195, 1 / 0.06, 4),      # DeepLab-R101
        (0.1, 30.0, 3),            # 0.1 * 30 = 3.0000000000000004
        (1e-3, 30.0, 1),
        (1 / 30, 30.0, 1),         # exactly one interval at 30 fps
        (0.0334, 30.0, 2),
        (0.05e-3, 10.0, 1),        # any positive latency is at least one frame late
        (0.25, 10.0, 3),
        (0.2, 10.0, 2),
    ],
)
def test_frame_offset(latency_s, fps, k):
    assert frame_offset(latency_s, fps) == k


@pytest.mark.parametrize("latency_s, fps", [(-0.01, 30.0), (0.01, 0.0), (0.01, -5.0), (float("nan"), 30.0),
                                            (0.01, float("inf"))])
def test_frame_offset_rejects_bad_values(latency_s, fps):
    with pytest.raises(ConfigError):
        frame_offset(latency_s, fps)


def test_evaluation_and_runtime_share_one_implementation():
    assert evaluation_frame_offset is frame_offset
