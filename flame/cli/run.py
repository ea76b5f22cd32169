"""``flame-run``: stream a camera, video, folder, ROS 2 bag or URL through an engine, measuring latency."""

from __future__ import annotations

import os
import sys
import time

# OpenCV and FFmpeg print their own warnings for a missing camera or a broken
# file; this command reports those as one line itself (set the variables to
# see OpenCV's messages). Must happen before cv2 is imported.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import click  # noqa: E402

from flame.apps.events import Events  # noqa: E402
from flame.cli.common import handle_errors  # noqa: E402
from flame.cli.ui import console, fmt, out, say_written, table  # noqa: E402
from flame.runtime.forecast import FORECASTERS  # noqa: E402
from flame.runtime.engines import describe_kinds  # noqa: E402
from flame.runtime.progress_log import LOG_EVERY_S  # noqa: E402
from flame.core.fit import FITS  # noqa: E402


class StatusLine:
    """A terminal status line on stderr, redrawn at most four times a second."""

    def __init__(self) -> None:
        self._next = 0.0
        self._shown = False

    def __call__(self, result) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + 0.25
        s = result.stats
        k = f"k={s.k}" if s.k is not None else "k=?"
        sys.stderr.write(f"\rframe {result.frame.index:>6}  latency {s.latency_ms:7.1f} ms  engine "
                         f"{s.engine_ms:7.1f} ms  {s.fps_out:5.1f} fps  {k}  processed {s.processed}  "
                         f"dropped {s.dropped}   ")
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _summary_table(report):
    lat, eng = report.latency_ms, report.engine_ms
    rows = [
        ["frames captured / processed / dropped",
         f"{report.frames_captured} / {report.frames_processed} / {report.frames_dropped}"],
        ["latency ms (mean / p50 / p90 / p99 / max)", " / ".join(fmt(lat[s], 1) for s in ("mean", "p50", "p90", "p99", "max"))],
        # latency = the frame's wait for a busy engine + the engine call + the forecast + the runtime's own work
        ["  waiting for the engine ms (p50 / max)", " / ".join(fmt(report.wait_ms[s], 1) for s in ("p50", "max"))],
        ["  engine call ms (mean / p50 / p99)", " / ".join(fmt(eng[s], 1) for s in ("mean", "p50", "p99"))],
        *([[f"  forecast {report.forecast['method']} ms (p50 / p99), fallbacks",
            f"{fmt(report.forecast_ms['p50'], 2)} / {fmt(report.forecast_ms['p99'], 2)}, "
            f"{report.forecast['fallbacks']}"]] if report.forecast["method"] != "none" else []),
        ["  runtime's own work ms (p50 / max)", " / ".join(fmt(report.runtime_ms[s], 3) for s in ("p50", "max"))],
        ["fps in / out", f"{fmt(report.fps_in, 1)} / {fmt(report.fps_out, 1)}"],
        [f"k at {fmt(report.k_fps, 3)} fps (p50 latency)", fmt(report.k)],
        ["ended because", report.end_reason],
    ]
    return table("flame-run", ["", "value"], rows)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--camera", type=int, default=None, help="Camera index (/dev/videoN).")
@click.option("--video", type=click.Path(dir_okay=False), default=None, help="Video file.")
@click.option("--frames", "frames_dir", type=click.Path(file_okay=False), default=None, help="Folder of images (name order).")
@click.option("--url", default=None, help="Stream URL (rtsp://, http://) read through FFmpeg.")
@click.option("--bag", type=click.Path(), default=None,
              help="ROS 2 bag (folder, .db3 or .mcap): its image topic, timed by header stamps.")
@click.option("--topic", default=None, help="The bag's image topic (default: its only one).")
@click.option("--fps", type=float, default=None, help="Source frame rate (folders: default 30; overrides a file's or camera's).")
@click.option("--engine", "engine_path", type=click.Path(dir_okay=False), required=True, help=f"Engine file: {describe_kinds()}.")
@click.option("--card", "card_path", type=click.Path(dir_okay=False), default=None,
              help="Model card JSON for an engine that carries none (a trtexec plan, a lost sidecar); see docs/formats.md.")
@click.option("--device", default=None, help="cpu or cuda (default: the backend's best).")
@click.option("--realtime/--no-realtime", default=None,
              help="Pace a file at its fps and drop frames the engine cannot keep up with (default: no for files; cameras and URLs are always real time).")
@click.option("--show/--no-show", default=False, show_default=True, help="Show the overlay in a window (needs opencv-python and a display).")
@click.option("--save", type=click.Path(dir_okay=False), default=None, help="Save the overlay video (.mp4, .mkv, .avi).")
@click.option("--save-bag", type=click.Path(), default=None,
              help="Write the run as a ROS 2 bag (MCAP): /flame/labels (mono8 class ids at the input's stamps) "
                   "and /flame/latency (ms).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None, help="Write the run report (JSON).")
@click.option("--max-frames", type=int, default=None, help="Stop after N processed frames.")
@click.option("--duration", type=float, default=None, help="Stop after S seconds.")
@click.option("--warmup", type=int, default=5, show_default=True, help="Engine calls before measuring.")
@click.option("--reconnect", type=int, default=3, show_default=True, help="Reconnection attempts for a camera/URL that stops.")
@click.option("--stall-timeout", type=float, default=10.0, show_default=True,
              help="A camera/URL that delivers no frame for S seconds (reconnection attempts included) ends the run.")
@click.option("--forecast", type=click.Choice(list(FORECASTERS)), default="none", show_default=True,
              help="Move the labels to the moment they are used (dense: every pixel by its own optical flow, for a "
                   "moving camera; flow: rigid objects over one background motion, for a still camera); latency "
                   "then runs to the forecast labels.")
@click.option("--extra-latency-ms", type=float, default=0.0, show_default=True,
              help="Delay after the labels are ready (actuation, transport) that the forecast also covers.")
@click.option("--fit", type=click.Choice(FITS), default="stretch", show_default=True,
              help="How frames of another aspect ratio than the engine's input meet it: stretch (resize whole, "
                   "the default), crop (the centred part of the input's ratio) or pad (letterbox); labels are "
                   "mapped back to the frame exactly. A stretch of more than 5% says so.")
@click.option("--log-every", type=float, default=LOG_EVERY_S, show_default=True,
              help="When stderr is not a terminal (systemd, docker, a pipe): a progress line (frames, fps, latency "
                   "p50, dropped) at most every S seconds; 0 for none.")
@handle_errors(flags={"duration_s": "--duration", "stall_timeout_s": "--stall-timeout", "log_every": "--log-every"})
def main(**options):
    """Run an engine on a camera, video, image folder, ROS 2 bag or stream, measuring per-frame latency."""
    from flame.apps.run import RunRequest, run_notices, run_stream

    request = RunRequest(**options)
    report = run_stream(request, _Notices(), StatusLine() if sys.stderr.isatty() else None)
    out.print(_summary_table(report))
    for line in run_notices(report, request):
        console.print(line)
    say_written((request.report_path, "report"), (request.save, "overlay video"),
                (request.save_bag and f"{request.save_bag} (/flame/labels, /flame/latency)", "bag"))


class _Notices(Events):
    """The header and the notices of a run, on stderr as they come."""

    def info(self, text: str) -> None:
        console.print(text)


if __name__ == "__main__":
    main()
