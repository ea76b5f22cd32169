"""``flame-doctor``: this machine's environment, and with ``--self-test`` proof that each deployment path works."""

from __future__ import annotations

import sys

import click
from rich.table import Table
from rich.text import Text

from flame.apps.events import Events
from flame.cli.common import handle_errors
from flame.cli.ui import console, out
from flame.core.files import write_json

_STYLES = {"ok": "green", "failed": "bold red", "unavailable": "yellow"}


class _Spinner(Events):
    """The running check on the status line (the table comes at the end)."""

    def __init__(self, status) -> None:
        self._status = status

    def stage(self, text: str) -> None:
        self._status.update(f"self-test: {text}")


def environment_table(facts: list) -> Table:
    """The environment as two columns."""
    t = Table(title="Environment", title_justify="left", show_header=False)
    t.add_column("what", style="bold", no_wrap=True)
    t.add_column("value")
    for fact in facts:
        t.add_row(fact.name, fact.value)
    return t


def checks_table(checks: list) -> Table:
    """One row per self-test check: status, milliseconds per frame, and the result or the reason."""
    t = Table(title="Self-test", title_justify="left")
    t.add_column("check", no_wrap=True)
    t.add_column("status", no_wrap=True)
    t.add_column("ms/frame", justify="right", no_wrap=True)
    t.add_column("result or reason")
    for check in checks:
        ms = "-" if check.latency_ms is None else f"{check.latency_ms:.1f}"
        t.add_row(check.name, Text(check.status, style=_STYLES[check.status]), ms, check.detail)
    return t


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--self-test", "run_self_test", is_flag=True,
              help="Run the engine shipped with FLAME on each ONNX Runtime provider (no torch needed); export a tiny "
                   "network to every format this machine supports, run each on each device, compare with PyTorch, "
                   "run two training steps. Exit 1 when an available check fails or nothing could be checked.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Also write the environment and the checks as JSON.")
@click.option("--work-dir", type=click.Path(file_okay=False), default=None,
              help="Keep the self-test's artifacts here (default: a temporary folder, removed after).")
@handle_errors
def main(run_self_test, json_out, work_dir):
    """What this machine has for FLAME (attach it to bug reports); --self-test proves each path in about a minute."""
    from flame.apps.doctor import report
    from flame.apps.environment import environment
    from flame.apps.self_test import exit_status, self_test

    facts = environment()
    out.print(environment_table(facts))
    checks = None
    if run_self_test:
        with console.status("self-test: building a tiny network") as status:
            checks = self_test(work_dir, _Spinner(status))
        out.print(checks_table(checks))
        failed = [c.name for c in checks if c.status == "failed"]
        passed = sum(c.status == "ok" for c in checks)
        unavailable = sum(c.status == "unavailable" for c in checks)
        if failed:
            out.print(f"{len(failed)} of {len(checks)} checks failed: {', '.join(failed)}")
        elif not passed:
            out.print(f"nothing could be checked here: all {unavailable} checks unavailable")
        else:
            out.print(f"{passed} checks passed, none failed, {unavailable} unavailable here")
    if json_out:
        write_json(json_out, report(facts, checks))
        out.print(f"written to {json_out}")
    if checks is not None:
        sys.exit(exit_status(checks))


if __name__ == "__main__":
    main()
