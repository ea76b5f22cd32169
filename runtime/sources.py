"""Frame sources: ``--camera N``, ``--video FILE``, ``--frames DIR``, ``--url URL``, ``--bag BAG``.

:func:`open_source` opens exactly one. The kinds and the contract:

* :class:`~flame.runtime.source_base.Source`: ``start(history)``, ``read()`` -> newest
  frame and the ring before it, ``stop()``, ``captured``, ``end_reason``, ``describe()``.
* :mod:`flame.runtime.file_sources`: :class:`VideoSource`, :class:`FolderSource`
  (offline: every frame; real time: paced at their fps, late frames dropped).
* :mod:`flame.runtime.live_sources`: :class:`CameraSource`, :class:`UrlSource`
  (grabber thread, newest frames only, bounded reconnection).
"""

from __future__ import annotations

import os
from typing import Any

from flame.core.errors import ConfigError, param
from flame.runtime.file_sources import IMAGE_SUFFIXES, ArraySource, FolderSource, VideoSource
from flame.runtime.live_sources import CameraSource, LiveSource, UrlSource, redact_url
from flame.runtime.source_base import ASSUMED_FPS, Capture, Clock, Sleep, Source

__all__ = ["open_source", "Source", "VideoSource", "FolderSource", "ArraySource", "LiveSource", "CameraSource", "UrlSource",
           "Capture", "Clock", "Sleep", "redact_url", "IMAGE_SUFFIXES", "ASSUMED_FPS"]


def open_source(camera: int | None = None, video: str | os.PathLike | None = None,
                frames: str | os.PathLike | None = None, url: str | None = None, fps: float | None = None,
                realtime: bool | None = None, clock: Clock | None = None, sleep: Sleep | None = None,
                bag: str | os.PathLike | None = None, topic: str | None = None, **options: Any) -> Source:
    """Open exactly one source.

    Args:
        camera, video, frames, url, bag: the source (exactly one).
        topic: a bag's image topic (default: its only one).
        fps: frame rate override (needed for a folder; 30 assumed otherwise).
        realtime: pace files at their fps (default: no for files; live sources are always real time).
        clock, sleep: injectable timing (tests).
        **options: live source options (``reconnect``, ``stall_timeout_s``...).

    Returns:
        The opened source (call :meth:`Source.start` to begin).

    Raises:
        ConfigError: on zero or several sources, or ``realtime=False`` for a live one.
        SourceError: when the source cannot be opened.
    """
    given = {k: v for k, v in (("camera", camera), ("video", video), ("frames", frames), ("url", url), ("bag", bag))
             if v is not None}
    if len(given) != 1:
        raise ConfigError(f"give exactly one source: {param('camera')} N, {param('video')} FILE, {param('frames')} DIR, {param('url')} URL or {param('bag')} BAG"
                          + (f" (found {', '.join(param(k) for k in given)})" if given else ""))
    if (camera is not None or url is not None) and realtime is False:
        raise ConfigError(f"{param('no_realtime')} needs a video or a frame folder: a camera or stream is always real time",
                          parameter="realtime")
    if topic is not None and bag is None:
        raise ConfigError(f"{param('topic')} applies to a bag only")
    if bag is not None:
        if fps is not None:
            raise ConfigError(f"a bag's frames are paced at their header stamps: {param('fps')} does not apply to it")
        from flame.runtime.bag_source import BagSource

        return BagSource(bag, topic, realtime=bool(realtime), clock=clock, sleep=sleep)
    if camera is not None:
        return CameraSource(int(camera), fps=fps, clock=clock, **options)
    if url is not None:
        return UrlSource(url, fps=fps, clock=clock, **options)
    if video is not None:
        return VideoSource(video, fps=fps, realtime=bool(realtime), clock=clock, sleep=sleep)
    return FolderSource(frames, fps=fps, realtime=bool(realtime), clock=clock, sleep=sleep)  # type: ignore[arg-type]
