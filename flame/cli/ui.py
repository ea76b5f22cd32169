"""Terminal output shared by the commands: progress bars, result tables and the applications' events."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from flame.apps.events import Events


def _width(stream) -> int | None:
    """Rich's width for a terminal; 120 columns when piped (rich would squeeze tables to 80)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return None if tty or os.environ.get("COLUMNS") else 120


# markup=False: messages carry library text such as ".[tensorrt]" that rich would read as markup;
# soft_wrap: a message stays one line (tables still lay out to the width).
console = Console(stderr=True, markup=False, soft_wrap=True, width=_width(sys.stderr))
out = Console(markup=False, soft_wrap=True, width=_width(sys.stdout))


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr; yields a ``(done, total)`` callback.

    The bar appears at the first report of work (a known total or something
    done), so a command that fails before it starts prints its one-line error
    alone, not an empty ``0/?`` bar above it.
    """
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    bar = Progress(*columns, console=console, transient=False)
    tasks: list[Any] = []

    def update(done: int, total: int) -> None:
        if not tasks:
            if not done and total is None:
                return
            bar.start()
            tasks.append(bar.add_task(description, total=total))
        bar.update(tasks[0], completed=done, total=total)

    try:
        yield update
    finally:
        if tasks:
            bar.stop()


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a table: fixed digits, ``-`` for None/NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """A rich table with right-aligned numeric cells."""
    t = Table(title=title, title_justify="left")
    for i, name in enumerate(columns):
        t.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*(fmt(v) for v in row))
    return t


def say_written(*files: tuple[str | None, str]) -> None:
    """``<what> written to <path>`` on stdout for each ``(path, what)`` a command was asked to write."""
    for path, what in files:
        if path:
            out.print(f"{what} written to {path}")


def per_class_table(report: Any) -> Table:
    """Per-class IoU (static, FLAME, streaming) of an :class:`~flame.evaluation.report.EvalReport`."""
    names = report.classes
    static = report.per_class_iou or {}
    at_k = report.per_class_flame or {}
    streaming = (report.streaming or {}).get("per_class_iou") or {}
    columns = ["class", "IoU (static)", f"FLAME (k={report.k})"] + (["streaming"] if streaming else [])
    rows = [[n, static.get(n), at_k.get(n)] + ([streaming.get(n)] if streaming else []) for n in names]
    return table("Per-class IoU", columns, rows)


def summary_table(report: Any) -> Table:
    """mIoU, FLAME, streaming FLAME, drop, latency and k of an :class:`~flame.evaluation.report.EvalReport`."""
    miou, flame_ = report.miou, report.flame
    drop = 100.0 * (miou - flame_) / miou if miou and flame_ is not None else None
    latency = report.latency_ms
    lat_text = f"p50 {fmt(latency['p50'], 1)} / p99 {fmt(latency['p99'], 1)} (used {latency['used']} = {fmt(latency['value'], 1)})"
    forecast = report.forecast or {"method": "none"}
    if forecast["method"] != "none":
        # Both parts of the latency k comes from: the measured or given one, and the forecast's cost.
        lat_text += f", incl. forecast {fmt(latency.get('forecast_ms'), 1)}"
    reference = report.reference
    rows = [
        *([["reference", reference["description"]]] if reference else []),
        ["static mIoU" if not reference else "static agreement with the reference (mIoU)", miou],
        [f"FLAME (k={report.k})", flame_],
        ["streaming FLAME", report.streaming_flame],
        ["drop from mIoU (%)", drop],
        ["latency (ms)", lat_text],
        *([[f"forecast {forecast['method']} ms (p50 / p99 here), fallbacks",
             f"{fmt(forecast['cost_ms']['p50'], 2)} / {fmt(forecast['cost_ms']['p99'], 2)}, {forecast['fallbacks']}"]]
          if forecast["method"] != "none" else []),
        ["k", report.k],
        ["fps", report.fps],
        ["pairs / missed", f"{report.pairs} / {report.missed}"],
        *([["frame times", f"{report.footage['time_source']}; {report.footage['intervals_line']}"]]
          if report.footage else []),
    ]
    what = f"FLAME against {'its own output' if reference['kind'] == 'self' else 'the teacher'} on " if reference \
        else "FLAME on "
    return table(f"{what}{report.dataset}", ["metric", "value"], rows)


class TerminalEvents(Events):
    """Draws an application's stages, notes, training and scoring progress on stderr.

    Args:
        numbered: number the stages (the demo's steps), or not (the benchmark's formats).
    """

    def __init__(self, numbered: bool = False) -> None:
        self.numbered = numbered
        self.count = 0

    def stage(self, text: str) -> None:
        self.count += 1
        console.rule(Text(f"{self.count}. {text}" if self.numbered else text, style="bold"))

    def info(self, text: str) -> None:
        console.print(f"  {text}")

    def trainer(self):
        from flame.cli.train import RichReporter

        return RichReporter()

    def progress(self):
        return progress_bar("scoring")
