"""Frame offsets for the metric: ``k = ceil(latency * fps)``, exact multiples not bumped.

The implementation is shared with ``flame.runtime`` and lives in :mod:`flame.offsets`.
"""

from flame.offsets import check_fps, frame_offset

__all__ = ["check_fps", "frame_offset"]
