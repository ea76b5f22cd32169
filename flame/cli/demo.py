"""``flame-demo``: the paper's Table 1 on the embedded synthetic video, measured on this machine."""

from __future__ import annotations

import click

from flame.cli.common import handle_errors
from flame.cli.ui import TerminalEvents, fmt, out, table
from flame.evaluation.datasets.worlds import WORLDS


def results_table(result: dict, world: str = "street") -> object:
    """Table 1 of the paper, for the demo's rows."""
    rows = {row["mode"]: row for row in result["rows"]}
    static = rows["static"]
    forecast = result["forecast_row"]
    method = rows[forecast]["forecast"]["method"]
    body = [
        ["static mIoU (I_t -> S_t, tested on S_t)", static["miou"]],
        ["FLAME: trained I_t -> S_t", static["flame"]],
        ["FLAME: trained I_t -> S_t+k", rows["future"]["flame"]],
        ["FLAME: trained I_t-1, I_t -> S_t+k", rows["two-frame"]["flame"]],
        [f"FLAME: trained I_t -> S_t, {method} forecast", rows[forecast]["flame"]],
        [f"streaming FLAME (static / future / two-frame / {forecast})",
         " / ".join(fmt(rows[m]["streaming_flame"], 3) for m in ("static", "future", "two-frame", forecast))],
        ["forecast cost p50 (ms, charged)", f"{rows[forecast]['latency_ms']['forecast_ms']:.1f}"],
        ["frame offset k", result["k"]],
        ["latency p50 (ms)", f"{static['latency_ms']['value']:.1f}"],
        ["FPS (1 / latency)", f"{1000.0 / static['latency_ms']['value']:.1f}" if static["latency_ms"]["value"] else "-"],
        ["camera fps", f"{result['fps']:g}"],
    ]
    return table(f"SwiftNet-R18 on the synthetic {world} video (the paper's Table 1, measured here)", ["", "value"],
                 body)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quick", is_flag=True, help="A few minutes: small frames and short training (shows the path, "
                                            "not the paper's ordering).")
@click.option("--out", "out_dir", type=click.Path(), default="flame-demo", show_default=True,
              help="Working folder (a rerun reuses finished steps).")
@click.option("--world", type=click.Choice(list(WORLDS)), default="street", show_default=True,
              help="The synthetic world: street (a 3D street from a moving car) or shapes (flat, moving shapes).")
@handle_errors
def main(quick: bool, out_dir: str, world: str) -> None:
    """Generate the synthetic video, train SwiftNet-R18 static/future/two-frame, export, time and score them."""
    from flame.apps.demo import run_demo

    result = run_demo(out_dir, quick, TerminalEvents(numbered=True), world)
    out.print(results_table(result, world))
    findings = result["findings"]
    out.print(f"future-trained above static: {'yes' if findings['future_above_static'] else 'no'}; "
              f"two-frame above both: {'yes' if findings['two_frame_above_both'] else 'no'}; "
              f"{result['forecast_row'].replace('+', ' + ')} forecast above static: "
              f"{'yes' if findings['forecast_above_static'] else 'no'}"
              + (" (--quick trains too briefly to expect the paper's ordering)" if quick else ""))
    out.print(f"report: {out_dir}/report.json   plot: {result.get('plot', '-')}   ({result['seconds']:.0f} s, "
              f"{result['disk_mb']:.0f} MB on disk in {out_dir})")


if __name__ == "__main__":
    main()
