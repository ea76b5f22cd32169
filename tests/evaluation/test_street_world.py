"""The street world: labels that agree with the scene by hand, the focus of expansion where the car heads,
and time that the frame rate samples without changing the world."""

from __future__ import annotations

import math
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from flame.evaluation.datasets import SyntheticSpec
from flame.evaluation.datasets.street import render_street_sequence, street_scene
from flame.evaluation.datasets.street_render import StreetCamera, render_frame
from flame.evaluation.datasets.street_scene import CAR, ROAD, SIDEWALK, SKY, Box, Pose, StreetScene

SIZE = (96, 192)


def flat_scene(boxes=(), position=(0.0, 1.5, 0.0)):
    """A straight road along Z, no junctions, the camera level and looking down the road."""
    return SimpleNamespace(centre=lambda z: np.zeros_like(z) if isinstance(z, np.ndarray) else 0.0,
                           junctions=np.zeros(0), boxes=list(boxes), moving_boxes=lambda t: [],
                           pose=lambda t: Pose(position, 0.0, 0.0, 0.0))


def test_flat_road_and_one_box_by_hand():
    camera = StreetCamera(SIZE)
    box = Box((-1.0, 0.0, 20.0), (1.0, 2.0, 24.0), CAR, (0, 0, 200))
    frame, labels = render_frame(flat_scene([box]), camera, 0.0, 3)
    f, cx, cy = camera.focal, camera.cx, camera.cy
    # Ground: pixel row r looks down at (r + 0.5 - cy) / f; the ray meets the road 1.5 m below at
    # Z = 1.5 f / (r + 0.5 - cy), and column c at X = (c + 0.5 - cx) / f * Z.
    for r, c in ((90, 20), (90, 96), (70, 5), (60, 180)):
        z = 1.5 * f / (r + 0.5 - cy)
        x = (c + 0.5 - cx) / f * z
        expected = ROAD if abs(x) < 6.0 else SIDEWALK if abs(x) < 9.5 else 9
        assert labels[r, c] == expected, (r, c, x, z)
    assert labels[2, 5] == SKY  # above the horizon
    # The box's front face (Z = 20) spans X -1..1, Y 0..2: columns cx +- f/20, rows cy - f*0.5/20 .. cy + f*1.5/20.
    left, right = cx - f / 20, cx + f / 20
    top, bottom = cy - f * 0.5 / 20, cy + f * 1.5 / 20
    inside = labels[int(top) + 1:int(bottom) - 1, int(left) + 1:int(right) - 1]
    assert inside.size > 20 and np.all(inside == CAR)
    assert labels[int(top) - 2, int(cx)] == SKY and labels[int(bottom) + 2, int(cx)] == ROAD
    assert labels[int(cy), int(left) - 2] != CAR and labels[int(cy), int(right) + 2] != CAR
    # The frame shows the box where the labels say it is: its colour (shaded) only there.
    car_pixels = frame[labels == CAR]
    assert np.all(car_pixels[:, 2] > car_pixels[:, 1] + 40)  # red dominates (BGR)


def test_a_nearer_box_hides_a_farther_one():
    camera = StreetCamera(SIZE)
    far = Box((-2.0, 0.0, 30.0), (2.0, 3.0, 34.0), 2, (100, 100, 100))  # a building-class box behind
    near = Box((-0.5, 0.0, 15.0), (0.5, 1.0, 16.0), CAR, (0, 0, 200))
    _, labels = render_frame(flat_scene([near, far]), camera, 0.0, 3)
    row = int(camera.cy + camera.focal * 0.5 / 15)  # 1 m below eye height at Z = 15: the near box's face
    assert labels[row, int(camera.cx)] == CAR
    assert labels[int(camera.cy - camera.focal * 1.0 / 30), int(camera.cx)] == 2  # above the car: the building


def test_focus_of_expansion_is_where_the_car_heads():
    scene = StreetScene(np.random.default_rng(5), 5.0)
    scene.amplitudes = np.zeros(2)  # a straight road
    camera = StreetCamera((192, 384))
    straight = lambda t: Pose((1.75, 1.45, 40.0 + 10.0 * t), 0.0, 0.0, 0.0)  # 10 m/s, no pitch or roll
    scene.pose = straight
    a, _ = render_frame(scene, camera, 0.0, 3)
    b, _ = render_frame(scene, camera, 0.05, 3)
    flow = cv2.calcOpticalFlowFarneback(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.cvtColor(b, cv2.COLOR_BGR2GRAY),
                                        None, 0.5, 3, 15, 3, 5, 1.2, 0)
    ground = flow[int(camera.cy) + 20:, :, 0]  # horizontal flow below the horizon
    columns = ground.mean(axis=0)
    cx = int(camera.cx)
    assert columns[: cx - 60].mean() < -0.2 and columns[cx + 60:].mean() > 0.2  # diverging from the centre
    crossing = np.flatnonzero(np.diff(np.sign(np.convolve(columns, np.ones(15) / 15, "same"))) > 0)
    assert crossing.size and np.min(np.abs(crossing - cx)) < 0.1 * camera.width
    assert flow[int(camera.cy) + 40:, :, 1].mean() > 0.2  # the road flows down towards the camera


def test_fps_changes_time_not_the_world():
    spec30 = SyntheticSpec(SIZE, 30.0, 3, 1, 1, 4, "street")
    spec60 = SyntheticSpec(SIZE, 60.0, 5, 1, 1, 4, "street")
    frames30, labels30 = render_street_sequence(spec30, 0, "val")
    frames60, labels60 = render_street_sequence(spec60, 0, "val")
    np.testing.assert_array_equal(frames60[2], frames30[1])
    np.testing.assert_array_equal(labels60[4], labels30[2])
    assert not np.array_equal(frames60[1], frames30[1])
    frames120, _ = render_street_sequence(SyntheticSpec(SIZE, 120.0, 5, 1, 1, 4, "street"), 0, "val")
    np.testing.assert_array_equal(frames120[4], frames30[1])


def test_deterministic_from_the_seed_and_the_classes_of_a_street():
    spec = SyntheticSpec(SIZE, 30.0, 4, 1, 1, 2, "street")
    first, labels = render_street_sequence(spec, 0, "train")
    again, _ = render_street_sequence(spec, 0, "train")
    np.testing.assert_array_equal(first, again)
    other, _ = render_street_sequence(SyntheticSpec(SIZE, 30.0, 4, 1, 1, 3, "street"), 0, "train")
    assert not np.array_equal(first, other)
    counts = np.zeros(19, np.int64)
    for index in range(4):
        _, labels = render_street_sequence(SyntheticSpec((64, 128), 30.0, 2, 4, 1, 0, "street"), index, "train")
        counts += np.bincount(labels.ravel(), minlength=256)[:19]
    order = list(np.argsort(-counts))
    assert order[0] == ROAD and set(order[:6]) >= {ROAD, 2, SIDEWALK}  # road, building, sidewalk lead
    assert all(counts[c] > 0 for c in (ROAD, SIDEWALK, 2, 8, SKY, CAR))


def test_the_ego_car_stops_and_drives_on():
    scene, _ = street_scene(0, 0, "train", 60.0)
    times = np.arange(0.0, 60.0, 0.1)
    speeds = scene.speed(times)
    assert speeds.min() == 0.0 and speeds.max() > 7.0
    positions = [scene.pose(t).position[2] for t in (0.0, 10.0, 20.0)]
    assert positions[0] < positions[1] < positions[2]
    assert math.isclose(scene.pose(1 / 30).position[2], scene.pose(2 / 60).position[2])


def test_unknown_world_is_refused():
    from flame.core.errors import ConfigError

    with pytest.raises(ConfigError, match="world"):
        SyntheticSpec(SIZE, 30.0, 2, 1, 1, 0, "moon").validate()
