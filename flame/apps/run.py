"""``flame-run`` as a library call: a :class:`RunRequest` in, the run's report out.

The command only parses its options into a :class:`RunRequest` (one field per
option, same names), calls :func:`run_stream` and prints the report; what a
run is made of (the source, the engine, the forecaster, the window and video
outputs, the report file) is composed here.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from flame.apps.events import Events
from flame.core.fit import aspect_notice
from flame.core.sizes import format_size
from flame.runtime.progress_log import ProgressLog
from flame.core.errors import ConfigError, param
from flame.runtime.run_report import RunReport


@dataclass
class RunRequest:
    """Everything ``flame-run`` is asked; each field is the command option of the same name.

    Attributes:
        engine_path: the engine file.
        camera, video, frames_dir, url, bag: the source (exactly one); topic: the bag's image topic.
        fps: the source frame rate (folders: default 30; overrides a file's or camera's).
        card_path: a card JSON for an engine that carries none.
        device: ``cpu`` or ``cuda`` (backend default when None).
        realtime: pace a file at its fps and drop frames (None: the source kind's default).
        show: draw the overlay in a window (skipped, with a notice, without a display).
        save: write the overlay video here.
        save_bag: write the run as a ROS 2 bag (labels and latency) into this new folder.
        report_path: write the run report (JSON) here.
        max_frames, duration: stop conditions.
        warmup: engine calls before measuring.
        reconnect, stall_timeout: what a camera or URL that stops gets.
        forecast: forecast method (:data:`flame.runtime.forecast.FORECASTERS`).
        extra_latency_ms: delay after the labels are ready that the forecast also covers.
        fit: ``stretch``, ``crop`` or ``pad`` (:mod:`flame.core.fit`).
        log_every: without a terminal, a progress line at most every so many seconds (0: none).
    """

    engine_path: str
    camera: int | None = None
    video: str | None = None
    frames_dir: str | None = None
    url: str | None = None
    bag: str | None = None
    topic: str | None = None
    fps: float | None = None
    card_path: str | None = None
    device: str | None = None
    realtime: bool | None = None
    show: bool = False
    save: str | None = None
    save_bag: str | None = None
    report_path: str | None = None
    max_frames: int | None = None
    duration: float | None = None
    warmup: int = 5
    reconnect: int = 3
    stall_timeout: float = 10.0
    forecast: str = "none"
    extra_latency_ms: float = 0.0
    fit: str = "stretch"
    log_every: float = 10.0

    @property
    def live(self) -> bool:
        """A camera or a URL (they reconnect and can stall); files and folders do not."""
        return self.camera is not None or self.url is not None

    def check(self) -> None:
        """Fail before the run, not after it, when an output cannot be written.

        Raises:
            ConfigError: naming the option, on an output folder that is not writable, a folder given as a
                file, or a bag folder that exists.
        """
        for path, option in ((self.report_path, "report_path"), (self.save, "save")):
            _check_writable(path, option)
        if self.save_bag and os.path.exists(self.save_bag):
            raise ConfigError(f"{param('save_bag')} {self.save_bag} exists; a bag is written to a new folder")


def _check_writable(path: str | None, parameter: str) -> None:
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(folder):  # the writer creates missing folders: check the first that exists
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{param(parameter)} {path}: folder {folder} is not writable")
    if os.path.isdir(path):
        raise ConfigError(f"{param(parameter)} {path} is a folder; give a file name")


def run_stream(request: RunRequest, events: Events | None = None, status: Any = None) -> RunReport:
    """Run an engine on a source as ``request`` says, write what it asks for, return the run report.

    Args:
        request: the run.
        events: receives the header line (source, engine) as the loop starts and the notices.
        status: an extra :class:`flame.runtime.stream.Output` (a terminal status line), used
            when no window is shown.

    Returns:
        The run's :class:`flame.runtime.run_report.RunReport` (also written to
        ``request.report_path`` when given, even when the run is interrupted).

    Raises:
        FlameError: on a bad source, engine, option or output.
    """
    from flame.runtime.engines import load_engine
    from flame.runtime.forecast import make_forecaster
    from flame.runtime.run_report import build_run_report
    from flame.runtime.sources import open_source
    from flame.runtime.stream import Stream

    events = events or Events()
    request.check()
    live = {"reconnect": request.reconnect, "stall_timeout_s": request.stall_timeout} if request.live else {}
    with open_source(camera=request.camera, video=request.video, frames=request.frames_dir, url=request.url,
                     bag=request.bag, topic=request.topic, fps=request.fps, realtime=request.realtime,
                     **live) as source, \
            load_engine(request.engine_path, device=request.device, card=request.card_path) as engine:
        outputs, window = _outputs(request, engine.card, source, events)
        progress_log = ProgressLog(request.log_every)  # checks the value with a terminal too
        if status is not None and not window:  # a window shows the same figures
            outputs.append(status)
        elif status is None and not sys.stderr.isatty():  # systemd, docker, a pipe: a plain line now and then
            outputs.append(progress_log)
        events.info(_header(source, engine) + (f"; --fit {request.fit}" if request.fit != "stretch" else ""))
        notice = aspect_notice(source.describe()["size"], engine.card.input_size, request.fit)
        if notice:
            events.info(f"notice: {notice}")
        stream = Stream(engine, source, max_frames=request.max_frames, duration_s=request.duration,
                        warmup=request.warmup, outputs=outputs,
                        forecaster=make_forecaster(request.forecast, engine.card.class_names),
                        extra_latency_ms=request.extra_latency_ms, fit=request.fit)
        try:
            stream.run()
        finally:
            report = build_run_report(stream.result, engine, source)
            if request.report_path:
                report.write(request.report_path)
    return report


def _outputs(request: RunRequest, card: Any, source: Any, events: Events) -> tuple[list[Any], bool]:
    """The overlay window (when a display is there), the overlay video and the bag the request asks for;
    whether a window is among them."""
    from flame.runtime.overlay import VideoOutput, WindowOutput, display_problem

    outputs: list[Any] = []
    window = False
    if request.show:
        problem = display_problem()
        if problem:
            events.info(f"notice: --show: {problem}; running without a window")
        else:
            outputs.append(WindowOutput(card.palette, class_names=card.class_names))
            window = True
    if request.save:
        outputs.append(VideoOutput(request.save, card.palette, source.fps or 30.0, keep_timeline=source.realtime,
                                   size=source.size, class_names=card.class_names))
    if request.save_bag:
        from flame.runtime.bag_output import BagOutput

        outputs.append(BagOutput(request.save_bag, source))
    return outputs, window


def _header(source: Any, engine: Any) -> str:
    """``video v.avi: 64x48 at 24 fps (file), every frame; engine onnxruntime on cpu: ...``."""
    card = engine.card
    where = source.describe()
    fps = "-" if source.fps is None else f"{source.fps:.3f}"
    return (f"{source.kind} {where.get('path') or where.get('url') or where.get('camera')}: "
            f"{format_size(where['size'])} at {fps} fps ({source.fps_from}), "
            f"{'real time' if source.realtime else 'every frame'}; engine {engine.backend} on "
            f"{engine.device}: {card.architecture} T={card.window} {format_size(card.input_size)}")


def run_notices(report: RunReport, request: RunRequest) -> list[str]:
    """What a finished run should tell its user beside the figures: an incomplete run, outputs that cost
    frames, forecast fallbacks, the files written."""
    said = []
    if not report.complete:
        said.append(f"notice: the run is incomplete: {report.end_reason}")
    share = report.output_share
    if share and share > 0.2 and report.frames_dropped:
        said.append(f"notice: drawing/saving took {100 * share:.0f}% of the run and cost dropped frames; "
                    "run without --show/--save to measure the engine alone")
    if report.forecast["fallbacks"]:
        said.append(f"notice: forecast {request.forecast} fell back to none on {report.forecast['fallbacks']} "
                    f"frame(s): {report.forecast['fallback_reason']}")
    return said
