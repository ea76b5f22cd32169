"""Write a run as a ROS 2 bag (MCAP): labels as images, latency as numbers, at the input's stamps.

So a robot's recording can be replayed and inspected next to FLAME's output in the tools roboticists
already use (Foxglove, rqt_bag). The bag is written under a temporary name and renamed when closed, so a
reader never finds half a bag under the final name.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from flame.core.deps import needs
from flame.core.errors import ConfigError, first_line, param

LABELS_TOPIC = "/flame/labels"
LATENCY_TOPIC = "/flame/latency"
#: The labels' header frame id.
FRAME_ID = "flame"


class LabelBagWriter:
    """Writes ``/flame/labels`` (``sensor_msgs/msg/Image``, mono8 class ids) and ``/flame/latency``
    (``std_msgs/msg/Float64``, milliseconds) into a new rosbag2 folder with MCAP storage.

    Args:
        path: the bag folder to create (must not exist).

    Raises:
        ConfigError: when ``path`` exists.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists():
            raise ConfigError(f"{self.path} exists; a bag is written to a new folder: choose another {param('save_bag')}")
        # A temporary folder beside it holds the bag under its final name (the storage file is named after
        # the bag's folder), and the bag moves out of it when finished.
        self._staging = self.path.with_name(f".{self.path.name}.partial")
        shutil.rmtree(self._staging, ignore_errors=True)  # left by a run that was killed
        self._staging.mkdir(parents=True)
        self._partial = self._staging / self.path.name
        with needs("writing ROS 2 bags", "rosbags", "pip install rosbags"):
            from rosbags.rosbag2 import StoragePlugin, Writer
            from rosbags.typesys import Stores, get_typestore
        self._store = get_typestore(Stores.ROS2_HUMBLE)
        self._writer = Writer(self._partial, version=8, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._labels = self._writer.add_connection(LABELS_TOPIC, "sensor_msgs/msg/Image", typestore=self._store)
        self._latency = self._writer.add_connection(LATENCY_TOPIC, "std_msgs/msg/Float64", typestore=self._store)
        self.count = 0

    def write(self, labels: np.ndarray, stamp_ns: int, latency_ms: float) -> None:
        """One processed frame: its uint8 class ids ``[H, W]``, the input's stamp, its latency."""
        types: Any = self._store.types
        stamp = types["builtin_interfaces/msg/Time"](sec=int(stamp_ns // 1_000_000_000),
                                                    nanosec=int(stamp_ns % 1_000_000_000))
        header = types["std_msgs/msg/Header"](stamp=stamp, frame_id=FRAME_ID)
        ids = np.ascontiguousarray(labels, dtype=np.uint8)
        image = types["sensor_msgs/msg/Image"](header=header, height=ids.shape[0], width=ids.shape[1],
                                               encoding="mono8", is_bigendian=0, step=ids.shape[1],
                                               data=ids.reshape(-1))
        self._writer.write(self._labels, int(stamp_ns),
                           self._store.serialize_cdr(image, "sensor_msgs/msg/Image"))
        value = types["std_msgs/msg/Float64"](data=float(latency_ms))
        self._writer.write(self._latency, int(stamp_ns), self._store.serialize_cdr(value, "std_msgs/msg/Float64"))
        self.count += 1

    def close(self) -> Path:
        """Finish the bag and give it its name (also after an interrupted run: what was written is kept)."""
        self._writer.close()
        self._partial.rename(self.path)
        self._staging.rmdir()
        return self.path

    def __enter__(self) -> "LabelBagWriter":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            self.close()
        except Exception as exc:  # never hide the run's own error behind the writer's
            if error is None:
                raise OSError(f"could not finish bag {self.path}: {first_line(exc)}") from exc
