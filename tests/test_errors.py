"""Errors name their parameters; commands write them as options; one first-line helper."""

from __future__ import annotations

import pickle

import click
import pytest
from click.testing import CliRunner

from flame.cli.common import error_line, handle_errors, option_flags
from flame.core.errors import ConfigError, DataError, FlameError, first_line, param


def test_message_names_parameters_in_plain_words():
    exc = ConfigError(f"expected {param('max_frames')} >= 1, found 0")
    assert str(exc) == "expected max_frames >= 1, found 0"
    assert exc.parameter == "max_frames" and exc.parameters == ("max_frames",)
    assert exc.render(lambda name: "--" + name.replace("_", "-")) == "expected --max-frames >= 1, found 0"
    both = ConfigError(f"give either {param('latency_ms')} or {param('latency_from')}, not both")
    assert both.parameters == ("latency_ms", "latency_from") and both.parameter == "latency_ms"
    chosen = ConfigError(f"{param('no_realtime')} needs a video", parameter="realtime")
    assert chosen.parameter == "realtime" and str(chosen) == "no_realtime needs a video"
    plain = DataError("label map {x!r} is {'a': 1}")  # no mark: braces are text, names or not
    assert plain.parameter is None and str(plain) == "label map {x!r} is {'a': 1}"
    named = DataError("cannot read {date}: give {out}")
    assert named.parameters == () and str(named) == "cannot read {date}: give {out}"


def test_errors_cross_processes_with_their_parameters():
    exc = ConfigError(f"{param('no_realtime')} needs a video", parameter="realtime")
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is ConfigError and str(back) == str(exc) == "no_realtime needs a video"
    assert (back.template, back.parameter, back.parameters) == (f"{param('no_realtime')} needs a video", "realtime",
                                                                 ("no_realtime",))


def test_first_line():
    assert first_line(ValueError("\n  bad shape  \nstack trace")) == "bad shape"
    assert first_line(ValueError("x" * 500), limit=10) == "x" * 10
    assert first_line(RuntimeError("")) == "RuntimeError"  # an empty message gives the type
    assert first_line(KeyError()) == "KeyError"
    assert first_line(OSError("   \n\n")) == "OSError"
    assert first_line(KeyError("model"), typed=True) == "KeyError: 'model'"
    assert first_line(RuntimeError(""), typed=True) == "RuntimeError"  # not "RuntimeError: RuntimeError"
    assert first_line("[TRT] out of memory\n  at builder.cpp") == "[TRT] out of memory"
    assert first_line("") == ""  # a text has no type to fall back on


@click.command()
@click.option("--max-frames", type=int, default=None)
@click.option("--frames", "frames_dir", default=None)
@click.option("--realtime/--no-realtime", default=None)
@click.option("--duration", type=float, default=None)
@click.option("--fail", type=click.Choice(["max", "frames", "realtime", "duration", "unknown"]))
@handle_errors(flags={"duration_s": "--duration"})
def _command(max_frames, frames_dir, realtime, duration, fail):
    raise {
        "max": ConfigError(f"expected {param('max_frames')} >= 1, found 0"),
        "frames": ConfigError(f"give {param('frames')} DIR"),
        "realtime": ConfigError(f"{param('no_realtime')} needs a video"),
        "duration": ConfigError(f"expected {param('duration_s')} > 0 seconds"),
        "unknown": FlameError(f"{param('threshold')} is unknown here"),
    }[fail]


@pytest.mark.parametrize("fail, line", [
    ("max", "error: expected --max-frames >= 1, found 0"),
    ("frames", "error: give --frames DIR"),  # the option's name, not its click name frames_dir
    ("realtime", "error: --no-realtime needs a video"),
    ("duration", "error: expected --duration > 0 seconds"),  # the command's own mapping
    ("unknown", "error: threshold is unknown here"),  # no option sets it: the plain name
])
def test_command_writes_its_options(fail, line):
    result = CliRunner().invoke(_command, ["--fail", fail])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [line]


def test_option_flags_derived_from_click():
    flags = option_flags(_command)
    assert flags["max_frames"] == "--max-frames" and flags["frames_dir"] == "--frames" == flags["frames"]
    assert flags["no_realtime"] == "--no-realtime" and flags["realtime"] == "--realtime"
    assert error_line(ConfigError(f"{param('fail')} x"), flags) == "error: --fail x"


def test_user_text_with_braces_is_shown_as_it_is():
    path = "/runs/{date}/m.onnx"
    exc = ConfigError(f"engine file {path} does not exist; choose another {param('out')}")
    assert str(exc) == "engine file /runs/{date}/m.onnx does not exist; choose another out"
    assert exc.parameters == ("out",)
    assert exc.render(lambda name: "--" + name) == "engine file /runs/{date}/m.onnx does not exist; choose another --out"
    # Another library's message cannot smuggle a mark in either.
    assert first_line(ValueError("bad \x00out\x00 value")) == "bad out value"


def test_a_command_prints_a_path_with_braces_verbatim(tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "{date}" / "{engine}.onnx"
    done = subprocess.run([sys.executable, "-m", "flame.cli.eval", "--engine", str(missing), "--latency", "10"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: engine file {missing} does not exist"
