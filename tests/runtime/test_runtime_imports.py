"""The deployed path stays light: flame.runtime never pulls in torch, onnx or flame.evaluation."""

from __future__ import annotations

import json
import subprocess
import sys

from tiny_engines import write_tiny_onnx, write_video

SCRIPT = """
import json, sys
from flame.runtime.engines import load_engine
from flame.runtime.overlay import VideoOutput
from flame.runtime.run_report import build_run_report
from flame.runtime.sources import open_source
from flame.runtime.stream import Stream
with load_engine(sys.argv[1]) as engine, open_source(video=sys.argv[2]) as source:
    result = Stream(engine, source, warmup=1).run()
    build_run_report(result, engine, source)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnx") or m.startswith("flame.evaluation"))
print(json.dumps({"processed": result.frames_processed, "heavy": heavy}))
"""


def test_running_a_stream_imports_no_torch_onnx_or_evaluation(tmp_path):
    engine = write_tiny_onnx(tmp_path / "tiny.onnx")
    video = write_video(tmp_path / "v.avi", 5, fps=10)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(engine), str(video)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"processed": 5, "heavy": []}
