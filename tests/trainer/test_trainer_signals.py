"""``flame-train`` in real processes: SIGTERM like Ctrl-C (a resumable checkpoint), and one line under torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from flame.evaluation.datasets import SyntheticSpec, write_synthetic

TRAIN = [sys.executable, "-m", "flame.cli.train"]


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("signals") / "synth"
    return str(write_synthetic(SyntheticSpec(size=(32, 64), frames=6, sequences=2, val_sequences=1), root))


def _env(tmp_path):
    return {**os.environ, "OMP_NUM_THREADS": "1", "FLAME_CACHE_DIR": str(tmp_path / "cache")}


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("sig, status, said", [(signal.SIGTERM, 143, "terminated")])
def test_sigterm_leaves_the_last_finished_epoch_resumable(tmp_path, tiny_video, sig, status, said):
    # What docker stop, systemd and ROS launch send: it must act like Ctrl-C.
    out = tmp_path / "run"
    args = ["--model", "swiftnet-r18", "--mode", "two-frame", "--offset", "1", "--data-root", tiny_video,
            "--iters-per-epoch", "2", "--batch-size", "2", "--workers", "0", "--device", "cpu", "--seed", "1",
            "--out", str(out)]
    proc = subprocess.Popen(TRAIN + args + ["--epochs", "6"], env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not (out / "last.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert (out / "last.pt").exists(), "no epoch finished in time"
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status, (stdout, stderr)
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert lines[-1] == said and "holds the last finished epoch" in lines[-2] and "--resume" in lines[-2]
    done = torch.load(out / "last.pt", weights_only=True)["epoch"]  # intact: it loads
    # The metrics line of an epoch is written just before its checkpoint: a signal between the two
    # leaves one line more, which the resumed run replaces.
    assert 1 <= done < 6 and len(_lines(out / "metrics.jsonl")) in (done, done + 1)
    assert not [p for p in os.listdir(out) if p not in ("best.pt", "last.pt", "metrics.jsonl")]  # no partial files
    # ...and resumable: the run continues from it to its 6 epochs.
    resumed = subprocess.run(TRAIN + ["--out", str(out), "--resume"], env=_env(tmp_path), capture_output=True,
                             text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metrics = [json.loads(line) for line in _lines(out / "metrics.jsonl")]
    assert [m["epoch"] for m in metrics] == list(range(1, 7))
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 6


def test_a_bad_option_under_torchrun_is_one_line_from_one_rank(tmp_path):
    # Rank 0 fails on the data root while rank 1 waits in a collective: gloo breaks there
    # ("Connection reset by peer") and torchrun sends it SIGTERM; it must leave quietly.
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "flame.cli.train", "--model", "swiftnet-r18", "--mode", "future", "--offset", "1",
           "--data-root", str(tmp_path / "missing"), "--epochs", "1", "--workers", "0", "--device", "cpu",
           "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=240)
    text = proc.stdout + proc.stderr
    ours = [line for line in text.splitlines() if line.startswith("error: ")]
    assert ours == [f"error: data root {tmp_path / 'missing'} does not exist or is not a folder; check --data-root"], text
    assert "[rank" not in text and "Connection reset" not in text and "RuntimeError" not in text
    # Every worker exits 2 (bad input); torchrun's own summary names the line as the root cause.
    assert text.count("exitcode  : 2") == 2, text
    assert f"traceback : {ours[0]}" in text
    assert not (tmp_path / "ddp").exists() or not os.listdir(tmp_path / "ddp")
