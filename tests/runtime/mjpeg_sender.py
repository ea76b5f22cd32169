"""A local MJPEG-over-HTTP camera for tests: it sends some frames, then dies the way network cameras do.

``MjpegSender(frames, fps, after=...)`` listens on 127.0.0.1 (any free port),
answers the first connection with ``frames`` JPEG frames (frame i filled with
grey level ``level(i)``) as ``multipart/x-mixed-replace``, then:

* ``after="close"``: closes the connection and stops listening (a camera that
  was switched off: reconnections are refused);
* ``after="hang"``: keeps the connection open without sending, and accepts
  every reconnection without ever answering (a camera or network that hangs).

``last_frame_at`` is the ``time.monotonic()`` of the last frame sent.
"""

from __future__ import annotations

import socket
import threading
import time

import cv2
import numpy as np
from flame_testing.tiny_engines import level


class MjpegSender:
    """See the module docstring; use as a context manager (``url``, ``last_frame_at``, ``accepted``)."""

    def __init__(self, frames: int, fps: float, after: str = "hang", size: tuple[int, int] = (48, 64)) -> None:
        if after not in ("close", "hang"):
            raise ValueError(f"after must be 'close' or 'hang', not {after!r}")
        self.frames, self.fps, self.after, self.size = frames, fps, after, size
        self.sent = 0
        self.accepted = 0
        self.last_frame_at: float | None = None
        self.done = threading.Event()  # set once the last frame is out
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self._server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/stream.mjpg"
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="mjpeg-sender", daemon=True)

    def __enter__(self) -> "MjpegSender":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._open:
            conn.close()
        self._server.close()

    def _accept(self) -> socket.socket | None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return None
            self.accepted += 1
            self._open.append(conn)
            return conn
        return None

    def _serve(self) -> None:
        conn = self._accept()
        if conn is None:
            return
        conn.settimeout(5)
        try:
            conn.recv(65536)  # the request; its content does not matter
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n")
            height, width = self.size
            for i in range(self.frames):
                ok, jpeg = cv2.imencode(".jpg", np.full((height, width, 3), level(i), np.uint8))
                data = jpeg.tobytes()
                conn.sendall(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(data)
                             + data + b"\r\n")
                self.sent += 1
                self.last_frame_at = time.monotonic()
                if self._stop.wait(1.0 / self.fps):
                    return
        except OSError:
            return
        finally:
            self.done.set()
        if self.after == "close":
            conn.close()
            self._server.close()
            return
        while self._accept() is not None:  # hang: take every reconnection, answer none
            pass
