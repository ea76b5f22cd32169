"""A procedural street seen from a moving car: the layout and everyone's motion, as functions of time.

World axes: X to the right of the road's start, Y up, Z along the road. The road's centre line bends gently
(``X = centre(Z)``, two slow sines); objects are placed in road coordinates (``s`` along, ``d`` across) and
are axis-aligned boxes in the world. The state at time t (the ego car's pose, each agent's position) is a
closed-form function of t and the sequence's seed, so the frame rate only decides where the world is
sampled, never what it does. Labels are Cityscapes' 19 train ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Cityscapes train ids.
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY = range(11)
PERSON, RIDER, CAR, TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE = range(11, 19)

ROAD_HALF = 6.0       # m from the centre line to the kerb: two lanes of 3.5 and parking
SIDEWALK_OUT = 9.5    # m from the centre line to the sidewalk's outer edge
LANE = 1.75           # m: the centre of the right-hand lane
CAMERA_HEIGHT = 1.45  # m above the road
CROSSING_HALF = 5.0   # m: half the width of a cross street
#: Time grid of the ego speed's integral (s): 1 ms, far below any frame interval.
_DT = 1e-3


@dataclass(frozen=True)
class Box:
    """An axis-aligned box: ``lo``, ``hi`` corners (X, Y, Z) in metres, its class and BGR colour."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    label: int
    colour: tuple[int, int, int]
    windows: bool = False  # a facade: draw a window grid on its road-facing side


@dataclass(frozen=True)
class Mover:
    """A box that moves along the road: ``s(t) = s0 + speed * t`` (and across it, ``d(t) = d0 + cross * t``)."""

    s0: float
    d0: float
    speed: float
    cross: float
    size: tuple[float, float, float]  # across, up, along
    label: int
    colour: tuple[int, int, int]
    start: float = -1e9   # crossing pedestrians exist from start to end only
    end: float = 1e9
    rider: bool = False   # a cyclist: a rider box on the bicycle


@dataclass(frozen=True)
class Pose:
    """The camera at time t: position (X, Y, Z) and yaw, pitch, roll (radians)."""

    position: tuple[float, float, float]
    yaw: float
    pitch: float
    roll: float


class StreetScene:
    """One sequence's street: static boxes, moving agents, the road's shape and the ego car's motion.

    Args:
        rng: the sequence's generator (its seed decides everything).
        duration: seconds the sequence lasts (the speed profile is integrated that far).
    """

    def __init__(self, rng: np.random.Generator, duration: float) -> None:
        self.amplitudes = rng.uniform(2.0, 9.0, 2)
        self.wavelengths = rng.uniform(90.0, 220.0, 2)
        self.phases = rng.uniform(0, 2 * math.pi, 2)
        self.speed_max = rng.uniform(8.0, 14.0)
        self.speed_period = rng.uniform(6.0, 12.0)
        self.speed_phase = rng.uniform(0, 2 * math.pi)
        self.speed_bias = rng.uniform(0.2, 0.8)  # lower: longer stops
        self.wobble = rng.uniform(0.0, 2 * math.pi, 3)
        grid = np.arange(0.0, duration + 1.0, _DT)
        self._grid = grid
        self._travelled = np.concatenate([[0.0], np.cumsum(self.speed(grid[:-1]) * _DT)])
        self.s_start = rng.uniform(0, 50)
        self.junctions = np.cumsum(rng.uniform(60, 140, 8)) + self.s_start
        self.boxes = self._static(rng)
        self.movers = self._movers(rng)

    # --- the road and the ego car --------------------------------------------------------------------------
    def centre(self, z: np.ndarray | float) -> np.ndarray | float:
        """X of the road's centre line at Z (float32 in, float32 out: the renderer's per-pixel path)."""
        dtype = z.dtype if isinstance(z, np.ndarray) else np.float64
        a, p = self.amplitudes.astype(dtype), self.phases.astype(dtype)
        k = (2 * np.pi / self.wavelengths).astype(dtype)
        return a[0] * np.sin(z * k[0] + p[0]) + a[1] * np.sin(z * k[1] + p[1])

    def heading(self, z: float) -> float:
        """The road's heading at Z (radians, positive to the right)."""
        a, w, p = self.amplitudes, self.wavelengths, self.phases
        slope = sum(a[i] * 2 * np.pi / w[i] * math.cos(z / w[i] * 2 * np.pi + p[i]) for i in range(2))
        return math.atan(slope)

    def speed(self, t: np.ndarray) -> np.ndarray:
        """The ego car's speed (m/s): it slows, stops and drives off again."""
        wave = self.speed_bias + 0.8 * np.sin(2 * np.pi * t / self.speed_period + self.speed_phase)
        return self.speed_max * np.clip(wave, 0.0, 1.0)

    def pose(self, t: float) -> Pose:
        """Where the camera is and where it looks at time t."""
        s = self.s_start + float(np.interp(t, self._grid, self._travelled))
        x = float(self.centre(s)) + LANE
        w = self.wobble
        yaw = self.heading(s) + 0.02 * math.sin(0.7 * t + w[0])
        pitch = 0.01 * math.sin(2.3 * t + w[1])
        roll = 0.008 * math.sin(1.7 * t + w[2])
        return Pose((x, CAMERA_HEIGHT, s), yaw, pitch, roll)

    def near_junction(self, s: float, margin: float = 0.0) -> bool:
        """Whether road position ``s`` lies on a cross street (widened by ``margin``)."""
        return bool(np.any(np.abs(self.junctions - s) < CROSSING_HALF + margin))

    # --- what stands still ---------------------------------------------------------------------------------
    def _box(self, s: float, d: float, size: tuple[float, float, float], label: int,
             colour: tuple[int, int, int], base: float = 0.0, windows: bool = False) -> Box:
        across, up, along = size
        x = float(self.centre(s)) + d
        return Box((x - across / 2, base, s - along / 2), (x + across / 2, base + up, s + along / 2), label,
                   colour, windows)

    def _colour(self, rng: np.random.Generator, low: int, high: int) -> tuple[int, int, int]:
        return tuple(int(v) for v in rng.integers(low, high, 3))  # type: ignore[return-value]

    def _static(self, rng: np.random.Generator) -> list[Box]:
        boxes: list[Box] = []
        end = self.s_start + 700.0
        for side in (-1, 1):
            s = self.s_start - 20.0
            while s < end:
                length = rng.uniform(8, 26)
                if not self.near_junction(s + length / 2, length / 2 + 2):
                    kind = rng.random()
                    setback = SIDEWALK_OUT + rng.uniform(0.5, 4.0)
                    if kind < 0.7:  # a building, its colour from a range the cars share
                        depth, height = rng.uniform(8, 14), rng.uniform(6, 28)
                        boxes.append(self._box(s + length / 2, side * (setback + depth / 2), (depth, height, length),
                                               BUILDING, self._colour(rng, 60, 200), windows=True))
                    elif kind < 0.85:  # a garden: hedge and a tree
                        boxes.append(self._box(s + length / 2, side * (setback + 0.6), (1.2, 1.4, length * 0.8),
                                               VEGETATION, (40, int(rng.integers(90, 150)), 50)))
                    else:  # a wall or a fence in front of open ground
                        label = WALL if rng.random() < 0.5 else FENCE
                        boxes.append(self._box(s + length / 2, side * (setback + 0.2), (0.3, rng.uniform(1, 2.2),
                                               length), label, self._colour(rng, 90, 170)))
                s += length + rng.uniform(0, 6)
            s = self.s_start
            while s < end:  # trees, poles and signs at the sidewalk's outer edge
                s += rng.uniform(9, 22)
                if self.near_junction(s, 1.5):
                    continue
                d = side * (SIDEWALK_OUT - 1.2)
                if rng.random() < 0.55:
                    boxes.append(self._box(s, d, (0.35, 2.6, 0.35), VEGETATION, (30, 60, 80)))
                    boxes.append(self._box(s, d, (3.2, 3.0, 3.2), VEGETATION, (40, int(rng.integers(100, 170)), 45),
                                           base=2.4))
                else:
                    boxes.append(self._box(s, d, (0.18, 4.5, 0.18), POLE, self._colour(rng, 90, 140)))
                    if rng.random() < 0.6:
                        boxes.append(self._box(s, d - side * 0.3, (0.7, 0.7, 0.06), SIGN,
                                               (int(rng.integers(150, 255)), 40, 40), base=2.6))
        for j in self.junctions:  # traffic lights on both corners of every junction, poles under them
            for side in (-1, 1):
                s = j - side * (CROSSING_HALF + 1.0)
                d = side * (ROAD_HALF + 0.6)
                boxes.append(self._box(s, d, (0.16, 3.2, 0.16), POLE, (90, 90, 90)))
                boxes.append(self._box(s, d, (0.35, 1.0, 0.35), LIGHT, (30, 30, 30), base=3.2))
        return boxes

    # --- what moves ----------------------------------------------------------------------------------------
    def _movers(self, rng: np.random.Generator) -> list[Mover]:
        movers: list[Mover] = []
        for s in self.s_start + np.cumsum(rng.uniform(12, 40, 22)):  # parked cars along both kerbs
            side = 1 if rng.random() < 0.5 else -1
            if not self.near_junction(s, 3):
                movers.append(Mover(s, side * 4.8, 0.0, 0.0, (1.8, 1.5, 4.3), CAR, self._colour(rng, 30, 230)))
        for s in self.s_start + np.cumsum(rng.uniform(20, 60, 10)):  # oncoming traffic
            big = rng.random() < 0.2
            size = (2.5, 3.2, 9.0) if big else (1.8, 1.5, 4.4)
            movers.append(Mover(s + 60, -LANE, -rng.uniform(7, 14), 0.0, size, TRUCK if big else CAR,
                                self._colour(rng, 30, 230)))
        for s in self.s_start + np.cumsum(rng.uniform(25, 70, 4)):  # traffic ahead in our lane
            movers.append(Mover(s + 15, LANE, rng.uniform(6, 11), 0.0, (1.8, 1.5, 4.4), CAR,
                                self._colour(rng, 30, 230)))
        for s in self.s_start + np.cumsum(rng.uniform(8, 25, 16)):  # pedestrians on the sidewalks
            side = 1 if rng.random() < 0.5 else -1
            movers.append(Mover(s, side * rng.uniform(ROAD_HALF + 0.8, SIDEWALK_OUT - 2), rng.choice([-1, 1]) *
                                rng.uniform(0.8, 1.8), 0.0, (0.55, rng.uniform(1.5, 1.9), 0.4), PERSON,
                                self._colour(rng, 20, 220)))
        for j in self.junctions:  # pedestrians crossing the road at junctions
            if rng.random() < 0.7:
                start = rng.uniform(0, 8)
                side = rng.choice([-1, 1])
                movers.append(Mover(j + rng.uniform(-3, 3), side * SIDEWALK_OUT, 0.0, -side * rng.uniform(1.0, 1.6),
                                    (0.5, 1.75, 0.45), PERSON, self._colour(rng, 20, 220), start,
                                    start + 2 * SIDEWALK_OUT / 1.0))
        for s in self.s_start + np.cumsum(rng.uniform(30, 90, 4)):  # cyclists by the kerb
            movers.append(Mover(s, ROAD_HALF - 1.0, rng.uniform(3, 6), 0.0, (0.6, 1.0, 1.7), BICYCLE,
                                self._colour(rng, 20, 220), rider=True))
        return movers

    def moving_boxes(self, t: float) -> list[Box]:
        """Every agent's boxes at time t."""
        out: list[Box] = []
        for m in self.movers:
            if not m.start <= t <= m.end:
                continue
            s = m.s0 + m.speed * t
            d = m.d0 + m.cross * (t - (m.start if m.start > -1e8 else 0.0))
            across, up, along = m.size
            out.append(self._box(s, d, (across, up * 0.6 if m.label == CAR else up, along), m.label, m.colour))
            if m.label == CAR:  # the cabin: a darker, narrower box on top
                cabin = (across * 0.9, up * 0.45, along * 0.5)
                out.append(self._box(s - along * 0.05, d, cabin, m.label, tuple(int(c * 0.5) for c in m.colour),
                                     base=up * 0.6))
            if m.rider:  # dressed in the bicycle's complementary colour
                out.append(self._box(s, d, (0.5, 0.85, 0.45), RIDER, tuple(255 - c for c in m.colour), base=up * 0.8))
        return out
