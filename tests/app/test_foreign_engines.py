"""Bring your own network end to end: each wrapped foreign model through flame-run, flame-eval --engine and
flame-bench ENGINE; an engine without a card runs with --card; a card that does not fit is one line, exit 2."""

import json

import cv2
import numpy as np
import onnx
import pytest
from click.testing import CliRunner

from flame.cli.bench import main as bench_main
from flame.cli.eval import main as eval_main
from flame.cli.run import main as run_main
from flame.core.card import ONNX_KEY, ModelCard
from flame.evaluation.datasets import load_folder
from flame.export.foreign import export_foreign

SIZE = (64, 128)
MMSEG = {"mean": "123.675,116.28,103.53", "std": "58.395,57.12,57.375", "channels": "bgr"}
STYLES = {"torchvision": {}, "mmseg": MMSEG, "argmax": {}, "two_frame": {"window": 2}}


@pytest.fixture(scope="module")
def wrapped(foreign, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("wrapped")
    return {style: export_foreign(foreign[style], root / f"{style}.onnx", size=SIZE, classes=foreign["classes"],
                                  verify=False, **options).path for style, options in STYLES.items()}


@pytest.fixture(scope="module")
def video(tiny_data, tmp_path_factory):
    """The first validation sequence of the synthetic data as an MJPG video at 30 fps."""
    seq = load_folder(tiny_data, "val").sequences[0]
    path = tmp_path_factory.mktemp("video") / "val0.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (SIZE[1], SIZE[0]))
    for i in range(seq.num_frames):
        writer.write(seq.frame(i))
    writer.release()
    return path, seq.num_frames


def invoke(command, args):
    result = CliRunner().invoke(command, [str(a) for a in args])
    return result.exit_code, result.output


def eval_args(engine, tiny_data, tmp_path, *extra):
    return ["--engine", engine, "--dataset", "folder", "--data-root", tiny_data, "--latency-samples", 6,
            "--warmup", 1, "--json", tmp_path / "eval.json", *extra]


@pytest.mark.parametrize("style", list(STYLES))
def test_wrapped_model_runs_through_run_eval_and_bench(wrapped, video, tiny_data, tmp_path, style):
    path, frames = video
    code, output = invoke(run_main, ["--engine", wrapped[style], "--video", path, "--warmup", 1,
                                     "--report", tmp_path / "run.json"])
    assert code == 0, output
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["frames_processed"] == frames and run["card"]["architecture"] == "foreign"
    assert run["latency_ms"]["p50"] > 0

    code, output = invoke(eval_main, eval_args(wrapped[style], tiny_data, tmp_path))
    assert code == 0, output
    report = json.loads((tmp_path / "eval.json").read_text())
    assert 0 < report["miou"] <= 1 and 0 <= report["flame"] <= 1 and report["k"] >= 0
    assert report["card"]["window"] == STYLES[style].get("window", 1)

    code, output = invoke(bench_main, [wrapped[style], "--dataset", "folder", "--data-root", tiny_data,
                                       "--latency-samples", 6, "--warmup", 1, "--json", tmp_path / "bench.json"])
    assert code == 0, output
    bench = json.loads((tmp_path / "bench.json").read_text())
    (row,) = bench["rows"]
    assert row["format"] == "onnx" and row["status"] == "ok" and row["agreement"] is None
    assert row["size_mb"] > 0 and row["latency_p50_ms"] > 0 and row["latency_p99_ms"] >= row["latency_p50_ms"]
    # Same engine, same data, same k: the bench row scores what flame-eval scored.
    assert row["miou"] == pytest.approx(report["miou"], abs=1e-12)
    assert row["streaming_flame"] is not None and row["k"] is not None


@pytest.fixture(scope="module")
def bare(wrapped, tmp_path_factory):
    """The torchvision-style wrapped model with its metadata removed, and the card it had as JSON."""
    root = tmp_path_factory.mktemp("bare")
    model = onnx.load(str(wrapped["torchvision"]))
    card_text = next(p.value for p in model.metadata_props if p.key == ONNX_KEY)
    del model.metadata_props[:]
    onnx.save(model, str(root / "bare.onnx"))
    (root / "card.json").write_text(json.dumps(json.loads(card_text), indent=2))
    return root / "bare.onnx", root / "card.json", ModelCard.from_json(card_text)


def test_an_engine_without_card_is_refused_with_a_hint(bare, tiny_data, tmp_path):
    code, output = invoke(eval_main, eval_args(bare[0], tiny_data, tmp_path))
    assert code == 2 and "carries no FLAME model card" in output and "give its card" in output


def test_an_engine_without_card_runs_with_the_card_it_had(bare, wrapped, video, tiny_data, tmp_path):
    engine, card, _ = bare
    code, output = invoke(eval_main, eval_args(engine, tiny_data, tmp_path, "--card", card, "--latency", 20))
    assert code == 0, output
    with_card = json.loads((tmp_path / "eval.json").read_text())
    code, output = invoke(eval_main, eval_args(wrapped["torchvision"], tiny_data, tmp_path, "--latency", 20))
    assert code == 0, output
    original = json.loads((tmp_path / "eval.json").read_text())
    assert with_card["miou"] == original["miou"] and with_card["flame"] == original["flame"]

    code, output = invoke(run_main, ["--engine", engine, "--card", card, "--video", video[0], "--warmup", 1,
                                     "--report", tmp_path / "run.json"])
    assert code == 0, output
    assert json.loads((tmp_path / "run.json").read_text())["frames_processed"] == video[1]
    code, output = invoke(bench_main, [engine, "--card", card, "--dataset", "folder", "--data-root", tiny_data,
                                       "--latency-samples", 4, "--warmup", 1])
    assert code == 0, output


@pytest.mark.parametrize("change,needle", [
    ({"input_size": (64, 96)}, "the engine takes uint8 [1, 64, 128, 3]"),
    ({"window": 2}, "window 2 at 64x128"),
    ({"output": "logits"}, "the card says output logits [5, 64, 128], the engine returns uint8 [64, 128]"),
])
def test_a_card_that_does_not_fit_is_one_line_exit_2(bare, video, tiny_data, tmp_path, change, needle):
    engine, _, card = bare
    wrong = tmp_path / "wrong.json"
    wrong.write_text(card.replace(**change).to_json())
    for command, args in ((eval_main, eval_args(engine, tiny_data, tmp_path, "--card", wrong)),
                          (run_main, ["--engine", engine, "--card", wrong, "--video", video[0]]),
                          (bench_main, [engine, "--card", wrong, "--dataset", "folder", "--data-root", tiny_data])):
        code, output = invoke(command, args)
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert code == 2 and len(errors) == 1, output
        assert "does not fit bare.onnx" in errors[0] and needle in errors[0], errors[0]


def test_a_card_file_that_is_not_a_card(bare, tiny_data, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"architecture": "x"}')
    code, output = invoke(eval_main, eval_args(bare[0], tiny_data, tmp_path, "--card", broken))
    assert code == 2 and "model card lacks" in output


def test_bench_engine_refuses_checkpoint_options(wrapped, tiny_data):
    code, output = invoke(bench_main, [wrapped["torchvision"], "--formats", "onnx"])
    assert code == 2 and "--formats applies to a checkpoint" in output


def test_wrapped_labels_match_between_card_and_bare_engines(bare, wrapped):
    from flame.export.parity import parity_windows
    from flame.runtime.engines import load_engine

    with load_engine(wrapped["torchvision"]) as a, load_engine(bare[0], card=bare[1]) as b:
        for frames in parity_windows(a.card, 2):
            np.testing.assert_array_equal(a(frames), b(frames))
