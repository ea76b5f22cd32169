"""Figures for reports: FLAME against latency, and per-class IoU.

matplotlib is imported only here, with the non-interactive Agg backend, and
only when a plot is asked for (a robot install does not need it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from flame.core.sizes import format_size
from flame.core.deps import needs
from flame.core.files import atomic_path


def _pyplot() -> Any:
    with needs("plotting", "matplotlib", "pip install matplotlib (or the [train] extra)"):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    return plt


#: Line style, marker and width per curve of :func:`plot_modes`, in order: each curve drawn over the ones
#: before it, thinner and dashed, so equal curves (a model and the same model with a forecast) both show.
CURVE_STYLES = (("-", "o", 3.0), ("--", "s", 2.2), ("-.", "^", 1.6), (":", "D", 1.4))


def step_points(flame_by_k: dict[int, float], fps: float) -> tuple[list[float], list[float]]:
    """The step curve's vertices: FLAME at k holds for latencies in ((k-1)/fps, k/fps].

    Consecutive offsets join with a vertical riser; a gap (an offset not
    scored) leaves a break (NaN), never a slanted line: FLAME is a step
    function of latency. k = 0 is the single latency 0.
    """
    interval_ms = 1000.0 / fps
    xs: list[float] = []
    ys: list[float] = []
    previous = None
    for k in sorted(flame_by_k):
        if previous is not None and k != previous + 1:
            xs.append(float("nan"))
            ys.append(float("nan"))
        left = max(0.0, (k - 1) * interval_ms) if k else 0.0
        xs += [left, k * interval_ms]
        ys += [flame_by_k[k], flame_by_k[k]]
        previous = k
    return xs, ys


def _flame_vs_latency(ax: Any, flame_by_k: dict[int, float], fps: float, operating: tuple[float, float] | None,
                      label: str | None = None, style: tuple[str, str, float] = CURVE_STYLES[0],
                      zorder: float = 2.0) -> None:
    """Step curve of FLAME against latency (:func:`step_points`), a marker at each k/fps."""
    ks = sorted(flame_by_k)
    interval_ms = 1000.0 / fps
    xs, ys = step_points(flame_by_k, fps)
    linestyle, marker, width = style
    line = ax.plot(xs, ys, linestyle, label=label, lw=width, zorder=zorder)[0]
    ax.plot([k * interval_ms for k in ks], [flame_by_k[k] for k in ks], marker, color=line.get_color(), ms=4,
            zorder=zorder)
    if operating is not None:
        ax.plot([operating[0]], [operating[1]], "*", color="crimson", ms=14, zorder=5)
        ax.annotate(f"engine: {operating[0]:.1f} ms, FLAME {operating[1]:.3f}", operating,
                    textcoords="offset points", xytext=(8, 8), fontsize=8)


def plot_report(report: Any, path: str | os.PathLike, title: str | None = None) -> Path:
    """FLAME as a function of latency with the operating point, and per-class IoU bars.

    Args:
        report: a ``flame-eval`` report (:class:`~flame.evaluation.report.EvalReport`).
        path: PNG to write (atomically).
        title: figure title.

    Returns:
        The written path.
    """
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    flame_by_k = {int(k): v for k, v in report.flame_by_k.items()}
    value = report.latency_ms["value"]
    _flame_vs_latency(left, flame_by_k, report.fps, (float(value), report.flame))
    left.set_xlabel("latency (ms)")
    left.set_ylabel("FLAME (mIoU against S_{t+k})")
    left.set_title(f"FLAME vs latency at {report.fps:g} fps (k = ceil(latency x fps))")
    left.grid(alpha=0.3)
    left.set_ylim(0, 1.02)

    names = report.classes
    series = [("static IoU", report.per_class_iou), (f"FLAME k={report.k}", report.per_class_flame)]
    if report.streaming:
        series.append(("streaming", report.streaming.get("per_class_iou")))
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series):
        values = values or {}
        heights = [values.get(n) if values.get(n) is not None else 0.0 for n in names]
        right.bar([x + i * width for x in range(len(names))], heights, width, label=label)
    right.set_xticks([x + width * (len(series) - 1) / 2 for x in range(len(names))])
    right.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    right.set_ylim(0, 1.02)
    right.set_ylabel("IoU")
    right.set_title("per-class IoU")
    right.legend(fontsize=8)
    fig.suptitle(title or report.dataset)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)


def plot_modes(rows: Sequence[dict[str, Any]], fps: float, path: str | os.PathLike, title: str) -> Path:
    """FLAME-vs-latency curves of several models (the demo's three training modes).

    Args:
        rows: each with ``mode``, ``flame_by_k``, ``latency_ms`` (a report's latency block) and ``flame``.
        fps: frame rate of the data set.
        path: PNG to write (atomically).
        title: figure title.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for i, row in enumerate(rows):
        flame_by_k = {int(k): v for k, v in row["flame_by_k"].items()}
        _flame_vs_latency(ax, flame_by_k, fps, None, label=row["mode"], style=CURVE_STYLES[i % len(CURVE_STYLES)],
                          zorder=2.0 + i)
    if rows:
        measured = rows[0]["latency_ms"]["value"]
        ax.axvline(measured, color="crimson", ls="--", lw=1, label=f"measured {measured:.1f} ms")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("FLAME")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)


def _label_points(ax: Any, labels: Sequence[tuple[str, tuple[float, float]]]) -> None:
    """Annotate each point, stacking a label upward while it would overlap one already placed (rows of
    equal latency and FLAME, as a small input in several precisions, would otherwise print on each other)."""
    ax.set_xlim(ax.get_xlim())  # freeze the limits, so that the data-to-pixel transform is final
    ax.set_ylim(ax.get_ylim())
    placed: list[tuple[float, float, float]] = []  # label box: left x, bottom y, right x, in points
    scale = 72.0 / ax.figure.dpi
    edge = ax.bbox.x1 * scale  # the axes' right edge, in points
    for text, point in sorted(labels, key=lambda item: item[1]):
        x, y = (value * scale for value in ax.transData.transform(point))
        # A 7-point label is about 4.2 points per character wide and 9 points high; it starts 6 points right
        # of its point (left of it when it would cross the right edge) and 4 above, and moves up a line while
        # its box would meet a placed one.
        width, lift = 4.2 * len(text), 4.0
        start = x + 6 if x + 6 + width <= edge - 4 else x - 6 - width
        while any(left < start + width and start < right and abs(bottom - (y + lift)) < 9
                  for left, bottom, right in placed):
            lift += 9.0
        placed.append((start, y + lift, start + width))
        ax.annotate(text, point, textcoords="offset points", xytext=(start - x, lift), fontsize=7)


def plot_choices(rows: Sequence[Any], fps: float, path: str | os.PathLike, title: str) -> Path:
    """``flame-bench``'s choice: FLAME against latency p50, one point per scored row.

    The best row is starred, the Pareto front (no other row both faster and
    higher in FLAME) is drawn as a staircase (the best FLAME within a latency budget), and dotted verticals mark the frame
    intervals where k steps up.

    Args:
        rows: :class:`flame.apps.bench_rows.BenchRow` objects (rows without a FLAME are left out).
        fps: frame rate of the data set.
        path: PNG to write (atomically).
        title: figure title.
    """
    from flame.apps.bench_rows import pareto_front

    plt = _pyplot()
    scored = [r for r in rows if r.flame is not None and r.latency_p50_ms is not None]
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for row in scored:
        ax.plot([row.latency_p50_ms], [row.flame], "o", color="steelblue", ms=6)
    front = pareto_front(list(scored))
    if front:
        # A staircase: the best FLAME reachable within a latency budget holds until the next faster-than-budget row.
        ax.plot([r.latency_p50_ms for r in front], [r.flame for r in front], "-", color="gray", lw=1,
                drawstyle="steps-post", label="Pareto front")
    best = next((r for r in scored if r.best), None)
    if best is not None:
        ax.plot([best.latency_p50_ms], [best.flame], "*", color="crimson", ms=16, zorder=5,
                label=f"best: {best.format}" + (f" {format_size(best.size)}" if best.size else ""))
    if scored:
        interval = 1000.0 / fps
        top = max(r.latency_p50_ms for r in scored) * 1.1
        for k in range(1, int(top // interval) + 1):
            ax.axvline(k * interval, color="lightgray", ls=":", lw=1)
    _label_points(ax, [(row.format + (f" {format_size(row.size)}" if row.size else ""),
                        (row.latency_p50_ms, row.flame)) for row in scored])
    ax.set_xlabel("latency p50 (ms)")
    ax.set_ylabel("FLAME")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return Path(path)
