"""One events base: silent for library callers, drawn on the terminal by the commands."""

from flame.apps.events import Events
from flame.cli.ui import TerminalEvents


def test_base_events_are_silent(capsys):
    events = Events()
    events.stage("export")
    events.info("note")
    with events.progress() as progress, events.trainer() as reporter:
        assert progress is None and reporter is None
    assert capsys.readouterr() == ("", "")


def test_terminal_events_number_the_demo_stages(capsys):
    demo, bench = TerminalEvents(numbered=True), TerminalEvents()
    assert isinstance(demo, Events)
    demo.stage("training")
    demo.stage("scoring")
    bench.stage("onnx")
    demo.info("latency p50 3.0 ms")
    err = capsys.readouterr().err
    assert "1. training" in err and "2. scoring" in err and "  latency p50 3.0 ms" in err
    assert "onnx" in err and "1. onnx" not in err
    with bench.progress() as progress:
        progress(1, 2)  # a rich progress bar's (done, total) callback
