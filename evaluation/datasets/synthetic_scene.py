"""The synthetic scene: what each frame of the embedded data set shows, rendered deterministically.

Textured shapes of several classes move over a textured, static background:

* ``car``: arrow-shaped bodies with bright headlights at the front, driving
  the way they point (one frame tells where they go next);
* ``pedestrian``: round bodies at random constant velocities, bouncing off the
  frame edges (one frame cannot tell the direction, two frames can);
* ``ball``: discs under gravity that accelerate and bounce.

So predicting S_{t+k} from I_t helps a little over the static prediction, and
from (I_{t-1}, I_t) helps more, as in the paper's experiments. Everything is
deterministic by seed, at any size, frame rate and length. Geometry is in
units of the frame width, so the motion looks the same at any resolution.

Writing, caching and loading the data set is :mod:`flame.evaluation.datasets.synthetic`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from flame.core.errors import ConfigError
from flame.core.offsets import check_fps


#: Bump when the rendering changes, so cached data sets are regenerated.
GENERATOR_VERSION = 4

CLASS_NAMES = ["ground", "building", "car", "pedestrian", "ball"]
PALETTE = np.array([(90, 90, 90), (160, 110, 70), (30, 60, 220), (220, 40, 60), (40, 200, 80)], np.uint8)
GROUND, BUILDING, CAR, PEDESTRIAN, BALL = range(5)

# Base colours (BGR) and texture strength per class.
_BASE_BGR = {
    GROUND: (105, 110, 100),
    BUILDING: (80, 120, 170),
    CAR: (190, 90, 40),
    PEDESTRIAN: (70, 60, 200),
    BALL: (60, 190, 80),
}
_HEADLIGHT_BGR = (80, 250, 255)
_SHIFT = 4  # cv2 drawing with 1/16-pixel precision
_SPLIT_CODE = {"train": 1, "val": 2, "test": 3}


@dataclass(frozen=True)
class SyntheticSpec:
    """Parameters of a synthetic data set.

    Attributes:
        size: frame size (H, W).
        fps: frame rate of the simulated camera.
        frames: frames per sequence.
        sequences: training sequences.
        val_sequences: validation sequences.
        seed: master seed.
        world: which world is rendered (:data:`flame.evaluation.datasets.worlds.WORLDS`).
    """

    size: tuple[int, int] = (128, 256)
    fps: float = 30.0
    frames: int = 40
    sequences: int = 12
    val_sequences: int = 3
    seed: int = 0
    world: str = "shapes"

    def validate(self) -> "SyntheticSpec":
        """Return self or raise on impossible values.

        Raises:
            ConfigError: on non-positive sizes, counts or fps.
        """
        check_fps(self.fps)
        from flame.evaluation.datasets.worlds import world

        world(self.world)
        height, width = self.size
        if height < 16 or width < 16:
            raise ConfigError(f"synthetic frames must be at least 16x16, found {height}x{width}")
        if self.frames < 2:
            raise ConfigError(f"synthetic sequences need at least 2 frames, found {self.frames}")
        if self.sequences < 1 or self.val_sequences < 0:
            raise ConfigError(
                f"expected at least 1 training sequence and >= 0 validation ones, found "
                f"{self.sequences} and {self.val_sequences}"
            )
        return self

    def key(self) -> str:
        """A short hash naming this spec (and generator version) in the cache."""
        payload = json.dumps(spec_record(self), sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:12]


def spec_record(spec: "SyntheticSpec") -> dict:
    """What ``meta.json`` records of a spec: its fields and its world's generator version.

    A shapes spec is recorded as before worlds existed (no ``world`` key), so data sets and caches
    written then still match.
    """
    from flame.evaluation.datasets.worlds import world

    record = {**asdict(spec), "version": world(spec.world).version}
    if spec.world == "shapes":
        del record["world"]
    return record


def _texture(rng: np.random.Generator, height: int, width: int, base: tuple[int, int, int],
             pattern: str) -> np.ndarray:
    """A class texture: base colour, smooth noise, and a class pattern."""
    coarse = rng.normal(0, 1, (max(2, height // 8), max(2, width // 8), 1)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)[..., None]
    fine = rng.normal(0, 1, (height, width, 1)).astype(np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    scale = width / 64.0
    if pattern == "stripes":
        pat = np.sign(np.sin(xx / (1.5 * scale)))[..., None] * 18
    elif pattern == "checker":
        pat = (np.sign(np.sin(xx / scale) * np.sin(yy / scale)))[..., None] * 22
    elif pattern == "spots":
        pat = (np.sin(xx / (0.7 * scale)) * np.sin(yy / (0.7 * scale)) > 0.6)[..., None] * 40.0
    else:
        pat = np.zeros((height, width, 1), np.float32)
    tex = np.asarray(base, np.float32)[None, None, :] + 18 * smooth + 8 * fine + pat
    return np.clip(tex, 0, 255).astype(np.uint8)


class _Car:
    """Drives along its heading; wraps around the frame."""

    def __init__(self, rng: np.random.Generator, aspect: float) -> None:
        self.length = rng.uniform(0.10, 0.15)
        self.width = self.length * rng.uniform(0.42, 0.55)
        self.theta = rng.uniform(0, 2 * math.pi)
        self.speed = rng.uniform(0.018, 0.032)
        self.pos = np.array([rng.uniform(0, 1), rng.uniform(0.1, 0.95) * aspect])
        self.aspect = aspect

    def step(self) -> None:
        self.pos += self.speed * np.array([math.cos(self.theta), math.sin(self.theta)])
        margin = self.length
        bounds = (1.0, self.aspect)
        for axis in range(2):
            if self.pos[axis] > bounds[axis] + margin:
                self.pos[axis] = -margin
            elif self.pos[axis] < -margin:
                self.pos[axis] = bounds[axis] + margin

    def polygons(self) -> tuple[np.ndarray, np.ndarray]:
        """(body, headlight) polygons in frame-width units."""
        fwd = np.array([math.cos(self.theta), math.sin(self.theta)])
        side = np.array([-fwd[1], fwd[0]])
        half_l, half_w = self.length / 2, self.width / 2
        nose = self.length * 0.22
        body = np.array([
            self.pos - half_l * fwd - half_w * side,
            self.pos + (half_l - nose) * fwd - half_w * side,
            self.pos + half_l * fwd,
            self.pos + (half_l - nose) * fwd + half_w * side,
            self.pos - half_l * fwd + half_w * side,
        ])
        light = np.array([
            self.pos + (half_l - nose * 1.1) * fwd - half_w * 0.8 * side,
            self.pos + (half_l - nose * 0.35) * fwd - half_w * 0.3 * side,
            self.pos + (half_l - nose * 0.35) * fwd + half_w * 0.3 * side,
            self.pos + (half_l - nose * 1.1) * fwd + half_w * 0.8 * side,
        ])
        return body, light


class _Pedestrian:
    """Round body at a random constant velocity; bounces off the edges."""

    def __init__(self, rng: np.random.Generator, aspect: float) -> None:
        self.radius = rng.uniform(0.030, 0.045)
        angle = rng.uniform(0, 2 * math.pi)
        speed = rng.uniform(0.008, 0.022)
        self.vel = speed * np.array([math.cos(angle), math.sin(angle)])
        self.pos = np.array([rng.uniform(0.1, 0.9), rng.uniform(0.15, 0.9) * aspect])
        self.aspect = aspect

    def step(self) -> None:
        self.pos += self.vel
        for axis, bound in enumerate((1.0, self.aspect)):
            if self.pos[axis] < self.radius and self.vel[axis] < 0:
                self.vel[axis] = -self.vel[axis]
            elif self.pos[axis] > bound - self.radius and self.vel[axis] > 0:
                self.vel[axis] = -self.vel[axis]


class _Ball:
    """Disc under gravity: accelerates downwards and bounces."""

    def __init__(self, rng: np.random.Generator, aspect: float) -> None:
        self.radius = rng.uniform(0.025, 0.035)
        self.pos = np.array([rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.6) * aspect])
        self.vel = np.array([rng.choice([-1, 1]) * rng.uniform(0.006, 0.016), rng.uniform(-0.01, 0.01)])
        self.gravity = rng.uniform(0.0010, 0.0018)
        self.aspect = aspect

    def step(self) -> None:
        self.vel[1] += self.gravity
        self.pos += self.vel
        floor = self.aspect - self.radius
        if self.pos[1] > floor and self.vel[1] > 0:
            self.pos[1] = floor
            self.vel[1] = -self.vel[1] * 0.92
        if (self.pos[0] < self.radius and self.vel[0] < 0) or (self.pos[0] > 1 - self.radius and self.vel[0] > 0):
            self.vel[0] = -self.vel[0]


def _to_px(points: np.ndarray, width: int) -> np.ndarray:
    return np.round(points * width * (1 << _SHIFT)).astype(np.int32)


def render_sequence(spec: SyntheticSpec, index: int, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Render one sequence.

    Args:
        spec: data set parameters.
        index: sequence number within the split.
        split: ``train``, ``val`` or ``test`` (each has its own seeds).

    Returns:
        ``(frames, labels)``: uint8 ``[F, H, W, 3]`` BGR and uint8 ``[F, H, W]``.
    """
    spec.validate()
    height, width = spec.size
    aspect = height / width
    seq_seed = np.random.SeedSequence([spec.seed, _SPLIT_CODE.get(split, 9), index])
    rng = np.random.default_rng(seq_seed)
    patterns = {GROUND: "none", BUILDING: "stripes", CAR: "none", PEDESTRIAN: "checker", BALL: "spots"}
    textures = np.stack([_texture(rng, height, width, _BASE_BGR[c], patterns[c]) for c in range(len(CLASS_NAMES))])

    # Static background: building above a random skyline, ground below.
    background = np.full((height, width), GROUND, np.uint8)
    knots = rng.uniform(0.25, 0.5, size=6) * height
    skyline = np.interp(np.arange(width), np.linspace(0, width - 1, knots.size), knots)
    background[np.arange(height)[:, None] < skyline[None, :]] = BUILDING

    cars = [_Car(rng, aspect) for _ in range(rng.integers(4, 7))]
    people = [_Pedestrian(rng, aspect) for _ in range(rng.integers(3, 6))]
    balls = [_Ball(rng, aspect) for _ in range(rng.integers(1, 4))]
    noise_rng = np.random.default_rng(seq_seed.spawn(1)[0])
    rows, cols = np.indices((height, width))

    frames = np.empty((spec.frames, height, width, 3), np.uint8)
    labels = np.empty((spec.frames, height, width), np.uint8)
    for f in range(spec.frames):
        label = background.copy()
        lights = []
        for car in cars:
            body, light = car.polygons()
            cv2.fillPoly(label, [_to_px(body, width)], CAR, cv2.LINE_8, _SHIFT)
            lights.append(_to_px(light, width))
        for person in people:
            center = tuple(int(v) for v in _to_px(person.pos, width))
            axes = (int(person.radius * width * (1 << _SHIFT)), int(person.radius * 1.35 * width * (1 << _SHIFT)))
            cv2.ellipse(label, center, axes, 0, 0, 360, PEDESTRIAN, -1, cv2.LINE_8, _SHIFT)
        for ball in balls:
            center = tuple(int(v) for v in _to_px(ball.pos, width))
            cv2.circle(label, center, int(ball.radius * width * (1 << _SHIFT)), BALL, -1, cv2.LINE_8, _SHIFT)
        image = textures[label, rows, cols]
        # Headlights only where the car is still visible (not under a pedestrian or ball).
        light_mask = np.zeros((height, width), np.uint8)
        cv2.fillPoly(light_mask, lights, 1, cv2.LINE_8, _SHIFT)
        image[(light_mask == 1) & (label == CAR)] = _HEADLIGHT_BGR
        noise = noise_rng.normal(0, 3.0, image.shape)
        frames[f] = np.clip(image + noise, 0, 255).astype(np.uint8)
        labels[f] = label
        for obj in (*cars, *people, *balls):
            obj.step()
    return frames, labels
