"""A ROS 2 bag as footage: one image topic, its frames and their header stamps.

Read with the pure-Python ``rosbags`` package (no ROS install): rosbag2 folders and their single
``.db3`` (sqlite3) or ``.mcap`` files; ``sensor_msgs/msg/Image`` in rgb8, bgr8 or mono8 and
``sensor_msgs/msg/CompressedImage`` (JPEG, PNG).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import cv2
import numpy as np

from flame.core.deps import needs
from flame.core.errors import SourceError, first_line, param
from flame.media.footage import Footage

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (IMAGE, COMPRESSED)
#: Image encodings read, and how to turn them into BGR.
ENCODINGS = {"bgr8": (3, None), "rgb8": (3, cv2.COLOR_RGB2BGR), "mono8": (1, cv2.COLOR_GRAY2BGR)}


def bag_folder(path: Path) -> Path:
    """The rosbag2 folder of ``path`` (the folder itself, or the folder holding a ``.db3``/``.mcap`` file)."""
    if path.is_file():
        if path.suffix not in (".db3", ".mcap"):
            raise SourceError(f"bag {path} is neither a rosbag2 folder nor a .db3 or .mcap file")
        return path.parent if (path.parent / "metadata.yaml").is_file() else path
    return path


def open_reader(path: Path) -> Any:
    """An opened ``rosbags`` reader of the bag (ROS 2 Humble message definitions by default).

    Raises:
        SourceError: when the bag is missing, corrupt or not a rosbag2.
    """
    with needs("reading ROS 2 bags", "rosbags", "pip install rosbags"):
        from rosbags.highlevel import AnyReader
        from rosbags.typesys import Stores, get_typestore
    try:
        reader = AnyReader([bag_folder(path)], default_typestore=get_typestore(Stores.ROS2_HUMBLE))
        reader.open()
    except SourceError:
        raise
    except Exception as exc:  # rosbags raises its own errors, sqlite3's and OSError for damaged files
        raise SourceError(f"bag {path} cannot be read: {first_line(exc)}") from exc
    return reader


def decode_image(msg: Any, msgtype: str) -> np.ndarray:
    """A ``sensor_msgs`` image message as uint8 HxWx3 BGR.

    Raises:
        SourceError: on an encoding FLAME does not read; ValueError on damaged data.
    """
    data = np.asarray(msg.data, dtype=np.uint8)
    if msgtype == COMPRESSED:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"compressed image ({msg.format}) does not decode")
        return image
    encoding = str(msg.encoding).lower()
    if encoding not in ENCODINGS:
        raise SourceError(f"image encoding {msg.encoding!r} is not supported: expected one of "
                          f"{', '.join(ENCODINGS)} (or a sensor_msgs/CompressedImage topic)")
    channels, conversion = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if step < width * channels or data.size < height * step:
        raise ValueError(f"image data of {data.size} bytes is short for {height}x{width} {encoding}")
    image = data[: height * step].reshape(height, step)[:, : width * channels].reshape(height, width, channels)
    return np.ascontiguousarray(image) if conversion is None else cv2.cvtColor(image, conversion)


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def _seconds(stamps_ns: np.ndarray) -> np.ndarray:
    # Relative first, in integers: seconds since the epoch as a float64 lose sub-microsecond precision.
    return (stamps_ns - stamps_ns[:1]).astype(np.float64) * 1e-9 if stamps_ns.size else np.zeros(0)


class BagFootage(Footage):
    """The images of one topic of a ROS 2 bag, timed by their header stamps."""

    kind = "bag"

    def __init__(self, path: Path, topic: str | None = None, fps: float | None = None) -> None:
        super().__init__(path)
        self._fps = fps
        reader = open_reader(self.path)
        try:
            images = {c.topic: c.msgtype for c in reader.connections if c.msgtype in IMAGE_TYPES}
            if not images:
                topics = ", ".join(sorted(f"{c.topic} ({c.msgtype})" for c in reader.connections)) or "none"
                raise SourceError(f"bag {self.path} has no image topic (sensor_msgs/msg/Image or CompressedImage); "
                                  f"its topics: {topics}")
            if topic is None:
                if len(images) > 1:
                    raise SourceError(f"bag {self.path} has {len(images)} image topics: {', '.join(sorted(images))}; "
                                      f"choose one with {param('topic')}", parameter="topic")
                topic = next(iter(images))
            elif topic not in images:
                raise SourceError(f"bag {self.path} has no image topic {topic}; its image topics: "
                                  f"{', '.join(sorted(images))}", parameter="topic")
        finally:
            reader.close()
        self.topic = topic
        self.msgtype = images[topic]
        self._good: list[int] = []  # message positions whose image decodes
        #: Header stamps of the frames in nanoseconds (for a bag written back by flame-run).
        self.stamps_ns = np.zeros(0, np.int64)

    def _messages(self, reader: Any) -> Iterator[tuple[int, int, Any]]:
        connections = [c for c in reader.connections if c.topic == self.topic]
        try:
            for position, (connection, received, raw) in enumerate(reader.messages(connections=connections)):
                yield position, received, reader.deserialize(raw, connection.msgtype)
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(f"bag {self.path} is damaged: {first_line(exc)}") from exc

    def _scan(self) -> np.ndarray:
        reader = open_reader(self.path)
        stamps, received_times = [], []
        try:
            for position, received, msg in self._messages(reader):
                try:
                    decode_image(msg, self.msgtype)
                except ValueError:
                    self._skipped += 1
                    continue
                self._good.append(position)
                stamps.append(_stamp_ns(msg))
                received_times.append(received)
        finally:
            reader.close()
        self.stamps_ns = np.asarray(stamps, np.int64)
        if self._fps:
            self._time_source = f"--fps {self._fps:g} (the header stamps ignored)"
            return np.arange(len(stamps)) / self._fps
        if len(stamps) > 1 and (not np.any(self.stamps_ns) or np.any(np.diff(self.stamps_ns) < 0)):
            self._time_source = "the recording times (the header stamps are " + (
                "all zero)" if not np.any(self.stamps_ns) else "out of order)")
            return _seconds(np.asarray(received_times, np.int64))
        self._time_source = "header stamps"
        return _seconds(self.stamps_ns)

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        self.timestamps()
        wanted = set(self._good[start:])
        reader = open_reader(self.path)
        try:
            for position, _, msg in self._messages(reader):
                if position in wanted:
                    yield decode_image(msg, self.msgtype)
        finally:
            reader.close()
