"""``flame-run``: stream a camera, video, folder or URL through an engine, measuring latency."""

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

from flame.core.sizes import format_size
from flame.cli.common import handle_errors  # noqa: E402
from flame.cli.ui import console, fmt, out, table  # noqa: E402
from flame.runtime.forecast import FORECASTERS  # noqa: E402
from flame.runtime.engines import describe_kinds  # noqa: E402
from flame.runtime.progress_log import LOG_EVERY_S, ProgressLog  # noqa: E402
from flame.core.fit import FITS, aspect_notice  # noqa: E402


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


def _check_writable(path: str | None, option: str) -> None:
    """Fail before the run, not after it, when an output cannot be written."""
    from flame.core.errors import ConfigError

    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.isdir(folder):  # the writer creates missing folders: check the first that exists
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{option} {path}: folder {folder} is not writable")
    if os.path.isdir(path):
        raise ConfigError(f"{option} {path} is a folder; give a file name")


def _summary_table(report: dict):
    lat, eng = report["latency_ms"], report["engine_ms"]
    rows = [
        ["frames captured / processed / dropped",
         f"{report['frames_captured']} / {report['frames_processed']} / {report['frames_dropped']}"],
        ["latency ms (mean / p50 / p90 / p99 / max)", " / ".join(fmt(lat[s], 1) for s in ("mean", "p50", "p90", "p99", "max"))],
        # latency = the frame's wait for a busy engine + the engine call + the forecast + the runtime's own work
        ["  waiting for the engine ms (p50 / max)", " / ".join(fmt(report["wait_ms"][s], 1) for s in ("p50", "max"))],
        ["  engine call ms (mean / p50 / p99)", " / ".join(fmt(eng[s], 1) for s in ("mean", "p50", "p99"))],
        *([[f"  forecast {report['forecast']['method']} ms (p50 / p99), fallbacks",
            f"{fmt(report['forecast_ms']['p50'], 2)} / {fmt(report['forecast_ms']['p99'], 2)}, "
            f"{report['forecast']['fallbacks']}"]] if report["forecast"]["method"] != "none" else []),
        ["  runtime's own work ms (p50 / max)", " / ".join(fmt(report["runtime_ms"][s], 3) for s in ("p50", "max"))],
        ["fps in / out", f"{fmt(report['fps_in'], 1)} / {fmt(report['fps_out'], 1)}"],
        [f"k at {fmt(report['k_fps'], 3)} fps (p50 latency)", fmt(report["k"])],
        ["ended because", report["end_reason"]],
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
              help="Move the labels to the moment they are used (flow: optical flow, constant velocity); "
                   "latency then runs to the forecast labels.")
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
def main(camera, video, frames_dir, url, bag, topic, fps, engine_path, card_path, device, realtime, show, save, save_bag,
         report_path, max_frames, duration, warmup, reconnect, stall_timeout, forecast, extra_latency_ms, fit, log_every):
    """Run an engine on a camera, video, image folder, ROS 2 bag or stream, measuring per-frame latency."""
    from flame.runtime.engines import load_engine
    from flame.runtime.forecast import make_forecaster
    from flame.runtime.overlay import VideoOutput, WindowOutput, display_problem
    from flame.runtime.run_report import build_run_report, write_run_report
    from flame.runtime.sources import open_source
    from flame.runtime.stream import Stream

    for path, what in ((report_path, "--report"), (save, "--save")):
        _check_writable(path, what)
    live = ({"reconnect": reconnect, "stall_timeout_s": stall_timeout} if camera is not None or url is not None
            else {})
    if save_bag and os.path.exists(save_bag):
        from flame.core.errors import ConfigError

        raise ConfigError(f"--save-bag {save_bag} exists; a bag is written to a new folder")
    with open_source(camera=camera, video=video, frames=frames_dir, url=url, bag=bag, topic=topic, fps=fps,
                     realtime=realtime, **live) as source, load_engine(engine_path, device=device, card=card_path) as engine:
        card = engine.card
        outputs = []
        window = False
        if show:
            problem = display_problem()
            if problem:
                console.print(f"notice: --show: {problem}; running without a window")
            else:
                outputs.append(WindowOutput(card.palette, class_names=card.class_names))
                window = True
        if save:
            outputs.append(VideoOutput(save, card.palette, source.fps or 30.0, keep_timeline=source.realtime,
                                       size=source.size, class_names=card.class_names))
        if save_bag:
            from flame.runtime.bag_output import BagOutput

            outputs.append(BagOutput(save_bag, source))
        progress_log = ProgressLog(log_every)  # checks --log-every with a terminal too
        if not window and sys.stderr.isatty():
            outputs.append(StatusLine())
        elif not sys.stderr.isatty():  # systemd, docker, a pipe: a plain line now and then instead
            outputs.append(progress_log)
        where = source.describe()
        console.print(f"{source.kind} {where.get('path') or where.get('url') or where.get('camera')}: "
                      f"{format_size(where['size'])} at {fmt(source.fps, 3)} fps ({source.fps_from}), "
                      f"{'real time' if source.realtime else 'every frame'}; engine {engine.backend} on "
                      f"{engine.device}: {card.architecture} T={card.window} {format_size(card.input_size)}"
                      + (f"; --fit {fit}" if fit != "stretch" else ""))
        notice = aspect_notice(where["size"], card.input_size, fit)
        if notice:
            console.print(f"notice: {notice}")
        stream = Stream(engine, source, max_frames=max_frames, duration_s=duration, warmup=warmup, outputs=outputs,
                        forecaster=make_forecaster(forecast, card.class_names), extra_latency_ms=extra_latency_ms,
                        fit=fit)
        try:
            stream.run()
        finally:
            report = build_run_report(stream.result, engine, source)
            if report_path:
                write_run_report(report_path, report)
        out.print(_summary_table(report))
        if not report["complete"]:
            console.print(f"notice: the run is incomplete: {report['end_reason']}")
        share = report["output_share"]
        if share and share > 0.2 and report["frames_dropped"]:
            console.print(f"notice: drawing/saving took {100 * share:.0f}% of the run and cost dropped frames; "
                          "run without --show/--save to measure the engine alone")
        if report["forecast"]["fallbacks"]:
            console.print(f"notice: forecast {forecast} fell back to none on {report['forecast']['fallbacks']} "
                          f"frame(s): {report['forecast']['fallback_reason']}")
        if report_path:
            out.print(f"report written to {report_path}")
        if save:
            out.print(f"overlay video written to {save}")
        if save_bag:
            out.print(f"bag written to {save_bag} (/flame/labels, /flame/latency)")


if __name__ == "__main__":
    main()
