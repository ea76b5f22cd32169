"""Footage as it comes off a robot: videos, image folders and ROS 2 bags, with their real frame times.

The layer between :mod:`flame.core` and :mod:`flame.evaluation` / :mod:`flame.runtime`: both score or
stream footage, and neither may import the other. It needs numpy, OpenCV and (for bags) the pure-Python
``rosbags`` package; never torch.
"""

from flame.media.footage import FOOTAGE_KINDS, Footage, open_footage
from flame.media.intervals import IntervalStats, interval_stats

__all__ = ["FOOTAGE_KINDS", "Footage", "IntervalStats", "interval_stats", "open_footage"]
