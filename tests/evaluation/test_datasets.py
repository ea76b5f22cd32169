"""Readers: Cityscapes (real layout, tiny tree), generic folder, synthetic video."""

import json
import os

import cv2
import numpy as np
import pytest

from flame.core.errors import ConfigError, DataError
from flame.evaluation.datasets import (
    SyntheticSpec,
    ensure_synthetic,
    label_ids_to_train_ids,
    load_cityscapes,
    load_folder,
    open_dataset,
    render_sequence,
    write_synthetic,
)
from flame.evaluation.datasets.cityscapes import CLASS_NAMES


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_cityscapes(root, city, seq, frames, annotated, split="val", label_value=26):
    """Write frames (numbers) and labelIds annotations (numbers) in the official layout."""
    fdir = root / "leftImg8bit_sequence" / split / city
    gdir = root / "gtFine" / split / city
    fdir.mkdir(parents=True, exist_ok=True)
    gdir.mkdir(parents=True, exist_ok=True)
    for n in frames:
        image = np.full((8, 16, 3), n % 256, np.uint8)
        cv2.imwrite(str(fdir / f"{city}_{seq:06d}_{n:06d}_leftImg8bit.png"), image)
    for n in annotated:
        ids = np.full((8, 16), 7, np.uint8)  # road
        ids[:, :4] = label_value              # car (26 -> 13)
        ids[0, 0] = 0                         # unlabeled -> void
        cv2.imwrite(str(gdir / f"{city}_{seq:06d}_{n:06d}_gtFine_labelIds.png"), ids)
        cv2.imwrite(str(gdir / f"{city}_{seq:06d}_{n:06d}_gtFine_color.png"), np.zeros((8, 16, 3), np.uint8))


def test_cityscapes_tiny_tree(tmp_path):
    make_cityscapes(tmp_path, "aachen", 0, range(0, 30), [19])
    # a long-sequence city: annotation numbered 294, snippet 275..304
    make_cityscapes(tmp_path, "frankfurt", 0, range(275, 305), [294])
    # a snippet whose annotated frame is not the 20th: frames 100..129, annotation 107
    make_cityscapes(tmp_path, "zurich", 3, range(100, 130), [107])
    data = load_cityscapes(tmp_path, "val")
    assert data.fps == 17.0 and data.class_names == CLASS_NAMES and data.num_classes == 19
    by_name = {seq.name: seq for seq in data.sequences}
    assert sorted(by_name) == ["aachen_000000_000000", "frankfurt_000000_000275", "zurich_000003_000100"]
    assert by_name["aachen_000000_000000"].annotated == [19]
    assert by_name["frankfurt_000000_000275"].annotated == [19]
    zurich = by_name["zurich_000003_000100"]
    assert zurich.annotated == [7] and zurich.num_frames == 30
    assert zurich.frame_stem(7) == "zurich_000003_000107"
    assert zurich.frame(5)[0, 0, 0] == 105  # frame 000105 of the sequence folder
    label = zurich.label(7)
    assert label.dtype == np.uint8 and label[0, 0] == 255 and label[1, 0] == 13 and label[1, 10] == 0
    window = zurich.window(7, 2)
    assert window.shape == (2, 8, 16, 3) and window[0, 0, 0, 0] == 106


def test_cityscapes_errors(tmp_path):
    with pytest.raises(DataError, match="leftImg8bit_sequence"):
        load_cityscapes(tmp_path, "val")
    make_cityscapes(tmp_path, "aachen", 0, range(0, 30), [19], label_value=40)
    data = load_cityscapes(tmp_path, "val")
    with pytest.raises(DataError, match="not a Cityscapes labelId"):
        data.sequences[0].label(19)
    (tmp_path / "gtFine" / "train").mkdir(parents=True)
    (tmp_path / "leftImg8bit_sequence" / "train").mkdir(parents=True)
    with pytest.raises(DataError, match="no annotated frames"):
        load_cityscapes(tmp_path, "train")


def test_label_id_mapping_covers_the_19_classes():
    ids = np.arange(34, dtype=np.uint8)
    train = label_ids_to_train_ids(ids)
    assert sorted(set(train.tolist()) - {255}) == list(range(19))
    assert train[7] == 0 and train[33] == 18 and train[0] == 255 and train[29] == 255


def write_folder(root, classes=("bg", "obj"), ignore=255, labels=None, fps=10):
    root.mkdir(parents=True, exist_ok=True)
    (root / "meta.json").write_text(json.dumps({"fps": fps, "classes": list(classes), "ignore_index": ignore}))
    seq = root / "walk"
    (seq / "frames").mkdir(parents=True)
    (seq / "labels").mkdir()
    for i in (1, 2, 10):
        cv2.imwrite(str(seq / "frames" / f"f{i}.png"), np.full((4, 6, 3), i, np.uint8))
    for stem, value in (labels or {"f2": 1, "f10": ignore}).items():
        cv2.imwrite(str(seq / "labels" / f"{stem}.png"), np.full((4, 6), value, np.uint8))
    return root


def test_folder_layout_natural_order_sparse_labels_and_ignore_index(tmp_path):
    data = load_folder(write_folder(tmp_path / "d", ignore=99))
    seq = data.sequences[0]
    assert data.fps == 10 and data.class_names == ["bg", "obj"] and data.palette.shape == (2, 3)
    assert [seq.frame_stem(i) for i in range(3)] == ["f1", "f2", "f10"]
    assert seq.annotated == [1, 2]
    assert seq.frame(2)[0, 0, 0] == 10
    assert seq.label(1)[0, 0] == 1 and seq.label(2)[0, 0] == 255  # 99 -> void


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="meta.json"):
        load_folder(tmp_path / "empty")
    (tmp_path / "empty" / "meta.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_folder(tmp_path / "empty")
    (tmp_path / "empty" / "meta.json").write_text(json.dumps({"fps": 0, "classes": ["a"]}))
    with pytest.raises(DataError, match="fps"):
        load_folder(tmp_path / "empty")
    (tmp_path / "empty" / "meta.json").write_text(json.dumps({"fps": 5, "classes": ["a"]}))
    with pytest.raises(DataError, match="no sequence folders"):
        load_folder(tmp_path / "empty")
    data = load_folder(write_folder(tmp_path / "bad", labels={"f1": 7}))
    with pytest.raises(DataError, match="label value 7 is neither a class"):
        data.sequences[0].label(0)


def test_synthetic_is_deterministic_and_moves():
    spec = SyntheticSpec(size=(64, 128), frames=6, sequences=1, val_sequences=1, seed=4)
    frames_a, labels_a = render_sequence(spec, 0, "train")
    frames_b, labels_b = render_sequence(spec, 0, "train")
    assert np.array_equal(frames_a, frames_b) and np.array_equal(labels_a, labels_b)
    assert frames_a.shape == (6, 64, 128, 3) and labels_a.shape == (6, 64, 128) and labels_a.dtype == np.uint8
    other = render_sequence(SyntheticSpec(size=(64, 128), frames=6, seed=5), 0, "train")[1]
    assert not np.array_equal(other, labels_a)
    val = render_sequence(spec, 0, "val")[1]
    assert not np.array_equal(val, labels_a)
    assert set(np.unique(labels_a).tolist()) <= {0, 1, 2, 3, 4} and {2, 3}.issubset(np.unique(labels_a))
    moved = (labels_a[1:] != labels_a[:-1]).mean(axis=(1, 2))
    assert (moved > 0.005).all()  # objects move every frame


def test_synthetic_any_size_and_bad_specs():
    frames, _ = render_sequence(SyntheticSpec(size=(96, 160), frames=2), 0)
    assert frames.shape == (2, 96, 160, 3)
    for bad in (SyntheticSpec(size=(8, 8)), SyntheticSpec(frames=1), SyntheticSpec(fps=0), SyntheticSpec(sequences=0)):
        with pytest.raises(ConfigError):
            bad.validate()


def test_write_synthetic_round_trip_and_cache(tmp_path, monkeypatch):
    spec = SyntheticSpec(size=(32, 64), frames=4, sequences=2, val_sequences=1, fps=25)
    root = write_synthetic(spec, tmp_path / "syn")
    train, val = load_folder(root, "train"), load_folder(root, "val")
    assert len(train) == 2 and len(val) == 1 and val.fps == 25
    frames, labels = render_sequence(spec, 0, "val")
    assert np.array_equal(val.sequences[0].label(3), labels[3])
    assert np.abs(val.sequences[0].frame(3).astype(int) - frames[3]).max() == 0  # PNG is lossless
    with pytest.raises(ConfigError, match="not empty"):
        write_synthetic(spec, root)
    monkeypatch.setenv("FLAME_CACHE_DIR", str(tmp_path / "cache"))
    first = ensure_synthetic(spec)
    stamp = (first / "val" / "meta.json").stat().st_mtime_ns
    assert ensure_synthetic(spec) == first and (first / "val" / "meta.json").stat().st_mtime_ns == stamp
    data = open_dataset("synthetic", None, "val", synthetic=spec)
    assert data.name == "synthetic val" and len(data) == 1
    assert not list((tmp_path / "cache").glob(".stage.*"))  # no staging folder left behind
    assert (first.stat().st_mode & 0o777) == 0o777 & ~current_umask()


def test_open_dataset_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown data set kind"):
        open_dataset("kitti", tmp_path)
    with pytest.raises(ConfigError, match="dataset cityscapes needs data_root") as caught:
        open_dataset("cityscapes", None)
    assert caught.value.parameter == "dataset" and caught.value.parameters == ("dataset", "data_root")
    data = open_dataset("folder", write_folder(tmp_path / "d"), "val", fps=20)
    assert data.fps == 20 and data.sequences[0].fps == 20
