"""Bring your own network: foreign ONNX models wrapped into FLAME graphs, checked against the host reference."""

import subprocess
import sys

import numpy as np
import onnx
import pytest
from click.testing import CliRunner

import foreign_models as fm
from flame.cli.export import main as export_main
from flame.core.card import ONNX_KEY
from flame.core.errors import ConfigError, DataError, EngineError
from flame.export.foreign import _session, export_foreign, host_reference
from flame.export.foreign_graph import inspect_graph
from flame.export.host_reference import preprocessing
from flame.export.onnx_export import load_onnx
from flame.export.parity import parity_windows
from flame.runtime.engines import load_engine

SIZE = (64, 128)
MMSEG = {"mean": "123.675,116.28,103.53", "std": "58.395,57.12,57.375", "channels": "bgr"}
STYLES = {"torchvision": {}, "mmseg": MMSEG, "argmax": {}, "two_frame": {"window": 2}}


@pytest.mark.parametrize("style", list(STYLES))
def test_wrapped_graph_agrees_with_the_host_reference(foreign, tmp_path, style):
    out = tmp_path / f"{style}.flame.onnx"
    result = export_foreign(foreign[style], out, size=SIZE, classes=foreign["classes"], **STYLES[style])
    assert result.parity.passed and result.parity.agreement >= 0.999, result.parity.summary()
    assert result.parity.pixels == 4 * SIZE[0] * SIZE[1]
    card = result.card
    window = STYLES[style].get("window", 1)
    assert (card.architecture, card.window, card.input_size, card.num_classes) == ("foreign", window, SIZE, 5)
    assert card.extra["model_output_kind"] == ("labels" if style == "argmax" else "scores")
    model = onnx.load(str(out))
    (graph_in,), (graph_out,) = model.graph.input, model.graph.output
    assert graph_in.name == "frames" and graph_in.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [d.dim_value for d in graph_in.type.tensor_type.shape.dim] == [window, *SIZE, 3]
    assert graph_out.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [d.dim_value for d in graph_out.type.tensor_type.shape.dim] == list(SIZE)
    assert any(p.key == ONNX_KEY for p in model.metadata_props)
    # The labels vary over the rendered frames (a constant map would agree with anything).
    with load_engine(out) as engine:
        labels = engine(parity_windows(card, 1)[0])
    assert labels.shape == SIZE and labels.dtype == np.uint8 and len(np.unique(labels)) >= 3


def test_the_check_catches_a_wrong_preprocessing(foreign, tmp_path):
    # The same model wrapped as if it took BGR: a host reference with the right order disagrees on many pixels.
    out = tmp_path / "wrong.onnx"
    export_foreign(foreign["torchvision"], out, size=SIZE, classes=foreign["classes"], channels="bgr", verify=False)
    model = load_onnx(foreign["torchvision"])
    right = host_reference(_session(model, "m"), inspect_graph(model), preprocessing(), "scores", SIZE, "labels")
    with load_engine(out) as engine:
        windows = parity_windows(engine.card, 4)
        agreement = np.mean([np.mean(right(w) == engine(w)) for w in windows])
    assert agreement < 0.9


def test_fp16_wrapped_graph_keeps_its_ends_and_agrees(foreign, tmp_path):
    result = export_foreign(foreign["torchvision"], tmp_path / "m.fp16.onnx", fp16=True, size=SIZE,
                            classes=foreign["classes"])
    assert result.card.precision == "fp16"
    assert result.parity.threshold == 0.99 and result.parity.agreement >= 0.99


def test_logits_output_and_default_output_name_beside_the_model(foreign, tmp_path):
    result = export_foreign(foreign["torchvision"], size=SIZE, classes=foreign["classes"], output="logits")
    assert result.path.name == "torchvision_seg.flame.onnx" and result.path.parent == foreign["root"]
    assert result.card.output == "logits" and result.parity.passed
    result.path.unlink()


def test_static_model_needs_no_size_and_cityscapes_classes(tmp_path):
    import torch

    class Static(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.avg_pool2d(x, 8).repeat(1, 7, 1, 1)[:, :19]

    path = fm.export(Static().eval(), tmp_path / "static.onnx", 3, "input", "output", dynamic=False, size=(64, 96))
    result = export_foreign(path, tmp_path / "static.flame.onnx", classes="cityscapes")
    assert result.card.input_size == (64, 96) and result.card.num_classes == 19
    assert result.card.class_names[:2] == ("road", "sidewalk") and result.parity.passed
    with pytest.raises(ConfigError, match="fixed input size 64x96"):
        export_foreign(path, tmp_path / "other.onnx", size=(128, 128), classes="cityscapes")


# ------------------------------------------------------------------------------------------ bad input
def test_class_count_must_match_the_output_channels(foreign, tmp_path):
    with pytest.raises(ConfigError, match="19 classes but the model outputs 5 channels"):
        export_foreign(foreign["torchvision"], tmp_path / "x.onnx", size=SIZE, classes="cityscapes")


def test_two_inputs_need_a_name(foreign, tmp_path):
    path = fm.two_inputs(tmp_path / "two.onnx")
    with pytest.raises(ConfigError, match="2 inputs \\(image, bias\\)") as info:
        export_foreign(path, tmp_path / "x.onnx", classes=foreign["classes"])
    assert info.value.parameter == "input_name"


def test_a_size_the_model_cannot_divide_is_refused(foreign, tmp_path):
    with pytest.raises(ConfigError, match="does not run at input size 66x128") as info:
        export_foreign(foreign["torchvision"], tmp_path / "x.onnx", size=(66, 128), classes=foreign["classes"])
    assert info.value.parameter == "size"


def test_a_classifier_is_not_a_segmentation_model(tmp_path):
    path = fm.classifier(tmp_path / "cls.onnx")
    with pytest.raises(DataError, match="not a segmentation model: its output has shape \\[1, 999\\]"):
        export_foreign(path, tmp_path / "x.onnx", size=SIZE)


def test_a_corrupt_file_is_an_engine_error(tmp_path):
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"\x08\x07this is not protobuf" * 10)
    with pytest.raises(EngineError, match="is not an ONNX model"):
        export_foreign(path, tmp_path / "x.onnx", size=SIZE)


def test_window_that_does_not_fit_the_channels(foreign, tmp_path):
    with pytest.raises(ConfigError, match="takes 6 input channels but a window of 1 frame gives 3"):
        export_foreign(foreign["two_frame"], tmp_path / "x.onnx", size=SIZE, classes=foreign["classes"])


def test_never_written_onto_the_model_itself(foreign):
    with pytest.raises(ConfigError, match="would overwrite the model"):
        export_foreign(foreign["torchvision"], foreign["torchvision"], size=SIZE, classes=foreign["classes"])


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bad")
    corrupt = root / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07this is not protobuf" * 10)
    return {"two_inputs": fm.two_inputs(root / "two.onnx"), "classifier": fm.classifier(root / "cls.onnx"),
            "corrupt": corrupt}


@pytest.mark.parametrize("model,args,needle", [
    ("torchvision", ["--classes", "cityscapes", "--size", "64x128"], "19 classes but the model outputs 5 channels"),
    ("torchvision", ["--size", "66x128", "--classes", "{classes}"], "does not run at input size 66x128"),
    ("torchvision", ["--classes", "{classes}"], "dynamic spatial axes: give the input size (--size HxW)"),
    ("torchvision", ["--size", "64x128", "--classes", "{classes}", "-o", "{tmp}/x.pt2"],
     "artifact is made from a torch module"),
    ("two_inputs", ["--classes", "{classes}"], "has 2 inputs (image, bias): name the one that takes the image (--input)"),
    ("two_inputs", ["--classes", "{classes}", "--input", "img"], "has no input 'img' (--input); its inputs: image, bias"),
    ("classifier", ["--size", "64x128"], "not a segmentation model"),
    ("corrupt", ["--size", "64x128"], "is not an ONNX model"),
    ("two_frame", ["--size", "64x128", "--classes", "{classes}"], "takes 6 input channels"),
])
def test_cli_bad_input_is_one_line_and_exit_2(foreign, bad_models, tmp_path, model, args, needle):
    args = [a.replace("{classes}", str(foreign["classes"])).replace("{tmp}", str(tmp_path)) for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "x.onnx")]
    result = CliRunner().invoke(export_main, [str({**foreign, **bad_models}[model]), *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0], result.output


def test_cli_model_options_are_refused_for_a_checkpoint(tmp_path):
    result = CliRunner().invoke(export_main, [str(tmp_path / "best.pt"), "--mean", "0.5,0.5,0.5"])
    assert result.exit_code == 2 and "apply to a foreign MODEL.onnx" in result.output


def test_cli_mmseg_style_export_in_a_subprocess(foreign, tmp_path):
    out = tmp_path / "mm.onnx"
    done = subprocess.run([sys.executable, "-m", "flame.cli.export", str(foreign["mmseg"]), "-o", str(out),
                           "--size", "64x128", "--mean", MMSEG["mean"], "--std", MMSEG["std"], "--channels", "bgr",
                           "--classes", str(foreign["classes"])], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "read on the 0-255 scale" in done.stdout and "BGR input" in done.stdout
    assert "pixel agreement with the foreign model" in done.stdout and "100.000%" in done.stdout
    assert out.is_file()
