"""Write small ROS 2 bags the way a robot records them, with rosbags (both storages, both image messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

STORE = get_typestore(Stores.ROS2_HUMBLE)
T = STORE.types
#: A plausible epoch start for header stamps (2026-01-01), so tests see real-sized stamps.
EPOCH_NS = 1_767_225_600_000_000_000


def image_message(frame: np.ndarray, stamp_ns: int, kind: str = "Image", encoding: str = "bgr8") -> object:
    """A sensor_msgs Image (``encoding`` of a BGR frame) or CompressedImage (``encoding`` jpeg or png)."""
    stamp = T["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
    header = T["std_msgs/msg/Header"](stamp=stamp, frame_id="camera")
    if kind == "CompressedImage":
        ok, data = cv2.imencode(".jpg" if encoding == "jpeg" else ".png", frame)
        assert ok
        return T["sensor_msgs/msg/CompressedImage"](header=header, format=encoding, data=data.reshape(-1))
    if encoding == "rgb8":
        pixels = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    elif encoding == "mono8":
        pixels = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    else:
        pixels = frame
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    return T["sensor_msgs/msg/Image"](header=header, height=pixels.shape[0], width=pixels.shape[1],
                                      encoding=encoding, is_bigendian=0, step=pixels.shape[1] * channels,
                                      data=np.ascontiguousarray(pixels).reshape(-1))


def write_bag(path: Path, topics: dict[str, list[tuple[int, object, str]]], storage: str = "mcap") -> Path:
    """A rosbag2 folder at ``path``: ``{topic: [(stamp_ns, message, msgtype), ...]}``."""
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(path, version=8, storage_plugin=plugin) as writer:
        for topic, messages in topics.items():
            msgtype = messages[0][2]
            connection = writer.add_connection(topic, msgtype, typestore=STORE)
            for stamp, message, kind in messages:
                writer.write(connection, stamp, STORE.serialize_cdr(message, kind))
    return path


def write_image_bag(path: Path, frames: Sequence[np.ndarray], times_s: Sequence[float] | None = None,
                    storage: str = "mcap", kind: str = "Image", encoding: str = "bgr8",
                    topic: str = "/camera/image_raw", fps: float = 30.0) -> Path:
    """A bag of one image topic; frame i stamped ``EPOCH + times_s[i]`` (default ``i / fps``)."""
    times = list(times_s) if times_s is not None else [i / fps for i in range(len(frames))]
    msgtype = f"sensor_msgs/msg/{kind}"
    messages = [(EPOCH_NS + round(t * 1e9), image_message(f, EPOCH_NS + round(t * 1e9), kind, encoding), msgtype)
                for f, t in zip(frames, times)]
    return write_bag(path, {topic: messages}, storage)


def frames_with_index(count: int, size: tuple[int, int] = (24, 32)) -> list[np.ndarray]:
    """Frames whose pixels tell their index (value 10 * i in every channel, a gradient in blue)."""
    frames = []
    for i in range(count):
        frame = np.full((*size, 3), 10 * i, np.uint8)
        frame[..., 0] = np.linspace(0, 255, size[1], dtype=np.uint8)[None, :]
        frames.append(frame)
    return frames
