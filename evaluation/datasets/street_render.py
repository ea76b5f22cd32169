"""Rendering the street (:mod:`flame.evaluation.datasets.street_scene`) through a pinhole camera, on the CPU.

The ground is ray-cast per pixel (numpy, vectorised): each pixel's ray meets the road plane at a world
(X, Z), which says road, lane marking, kerb, sidewalk or terrain, and gives a texture fixed to the world.
Above the horizon is sky. Boxes are drawn far to near (painter's algorithm) as their faces that look at the
camera, clipped at a near plane and filled with OpenCV; the labels are the same polygons. Frames and labels
therefore agree pixel for pixel, and occlusion follows depth for boxes that do not interpenetrate.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from flame.evaluation.datasets.street_scene import (
    CROSSING_HALF,
    ROAD,
    ROAD_HALF,
    SIDEWALK,
    SIDEWALK_OUT,
    SKY,
    TERRAIN,
    Box,
    Pose,
    StreetScene,
)

NEAR = 0.3    # m: faces are clipped at this depth
FAR = 160.0   # m: boxes further away are not drawn
_SHIFT = 4    # cv2 fill with 1/16-pixel precision
#: Direction towards the sun (world), for flat shading of box faces.
_SUN = np.array([0.4, 0.8, -0.45]) / np.linalg.norm([0.4, 0.8, -0.45])
# The six faces of a box as corner indices (corner i: x = hi if i & 1, y = hi if i & 2, z = hi if i & 4),
# counter-clockwise seen from outside, with their outward normals.
_FACES = (((0, 2, 6, 4), (-1, 0, 0)), ((1, 5, 7, 3), (1, 0, 0)), ((0, 4, 5, 1), (0, -1, 0)),
          ((2, 3, 7, 6), (0, 1, 0)), ((0, 1, 3, 2), (0, 0, -1)), ((4, 6, 7, 5), (0, 0, 1)))


def camera_basis(pose: Pose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(right, down, forward) unit vectors of the camera in world coordinates."""
    cy, sy = math.cos(pose.yaw), math.sin(pose.yaw)
    forward = np.array([sy, 0.0, cy])
    right = np.array([cy, 0.0, -sy])
    up = np.array([0.0, 1.0, 0.0])
    cp, sp = math.cos(pose.pitch), math.sin(pose.pitch)  # pitch: nose down is positive
    forward, up = forward * cp - up * sp, up * cp + forward * sp
    cr, sr = math.cos(pose.roll), math.sin(pose.roll)
    right, up = right * cr + up * sr, up * cr - right * sr
    return right, -up, forward


class StreetCamera:
    """A pinhole camera of ``size`` (H, W) with an 80 degree horizontal field of view, horizon above centre."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.height, self.width = size
        self.focal = self.width / (2 * math.tan(math.radians(40)))
        self.cx, self.cy = self.width / 2.0, self.height * 0.42
        u = (np.arange(self.width, dtype=np.float64) + 0.5 - self.cx) / self.focal
        v = (np.arange(self.height, dtype=np.float64) + 0.5 - self.cy) / self.focal
        self._u, self._v = u[None, :], v[:, None]
        # The sky: a gradient from pale at the horizon to deep blue overhead (BGR per row).
        rise = np.clip(-v / max(1e-6, float(-v[0])), 0.0, 1.0) if v[0] < 0 else np.zeros_like(v)
        self._sky = np.stack([215 + 35 * rise, 200 - 60 * rise, 170 - 110 * rise], axis=1).astype(np.uint8)

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points ``[N, 3]`` (z > 0) to pixel coordinates ``[N, 2]``."""
        return np.stack([self.cx + self.focal * points_cam[:, 0] / points_cam[:, 2],
                         self.cy + self.focal * points_cam[:, 1] / points_cam[:, 2]], axis=1)

    def ground(self, scene: StreetScene, pose: Pose, texture_seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The road plane and sky as (BGR frame, labels)."""
        right, down, forward = (v.astype(np.float32) for v in camera_basis(pose))
        u, v = self._u.astype(np.float32), self._v.astype(np.float32)
        frame = np.empty((self.height, self.width, 3), np.uint8)
        labels = np.full((self.height, self.width), SKY, np.uint8)
        frame[...] = self._sky[:, None, :]
        # World direction of each pixel's ray (forward + u * right + v * down): its Y decides whether it
        # meets the road plane, and where (X, Z).
        dy = forward[1] + u * right[1] + v * down[1]
        rows = np.flatnonzero((dy < -1e-4).any(axis=1))
        if rows.size == 0:
            return frame, labels
        top = int(rows[0])
        v = v[top:]
        dy = forward[1] + u * right[1] + v * down[1]
        hit = dy < -2e-3  # beyond 700 m: sky
        scale = np.float32(pose.position[1]) / -np.minimum(dy, np.float32(-2e-3))
        x = np.float32(pose.position[0]) + scale * (forward[0] + u * right[0] + v * down[0])
        z = np.float32(pose.position[2]) + scale * (forward[2] + u * right[2] + v * down[2])
        d = np.abs(x - scene.centre(z).astype(np.float32))
        crossing = np.zeros(d.shape, bool)
        corner = np.zeros(d.shape, bool)
        ahead = scene.junctions[(scene.junctions > pose.position[2] - 20) & (scene.junctions < pose.position[2] + 800)]
        for j in ahead:
            gap = np.abs(z - np.float32(j))
            crossing |= gap < CROSSING_HALF
            corner |= gap < CROSSING_HALF + 3.5
        road = (d < ROAD_HALF) | crossing
        sidewalk = ~road & ((d < SIDEWALK_OUT) | corner)
        label = np.where(road, np.uint8(ROAD), np.where(sidewalk, np.uint8(SIDEWALK), np.uint8(TERRAIN)))
        # A texture fixed to the ground: hashed 12 cm cells, so it moves with the world, not with the image.
        cells = (np.floor(x * 8).astype(np.int32).view(np.uint32) * np.uint32(73856093)) ^ \
            (np.floor(z * 8).astype(np.int32).view(np.uint32) * np.uint32(19349663)) ^ np.uint32(texture_seed)
        shade = (cells & np.uint32(31)).astype(np.int16) + np.where(road, 85, np.where(sidewalk, 150, 95)).astype(np.int16)
        on_road = road & ~crossing
        dash = _frac(z * np.float32(1 / 9.0)) < 0.5
        paint = on_road & (((d < 0.09) & dash) | (np.abs(d - np.float32(ROAD_HALF - 0.3)) < 0.07))
        kerb = sidewalk & (d < ROAD_HALF + 0.18)
        tiles = sidewalk & ((_frac(z * np.float32(1 / 1.2)) < 0.05) | (_frac(d * np.float32(1 / 1.2)) < 0.05))
        shade = np.where(paint, np.int16(225), np.where(kerb, np.int16(185), shade - 40 * tiles.astype(np.int16)))
        grey = np.clip(shade, 0, 255).astype(np.uint8)
        grass = label == TERRAIN
        ground = cv2.merge([np.where(grass, (grey * 0.45).astype(np.uint8), grey),
                            np.where(grass, np.clip(grey * 1.2, 0, 255).astype(np.uint8), grey),
                            np.where(grass, (grey * 0.6).astype(np.uint8), grey)])
        frame[top:] = np.where(hit[..., None], ground, frame[top:])
        labels[top:] = np.where(hit, label, np.uint8(SKY))
        return frame, labels

    def boxes(self, frame: np.ndarray, labels: np.ndarray, boxes: list[Box], pose: Pose) -> None:
        """Draw ``boxes`` into ``frame`` and ``labels``, far to near."""
        if not boxes:
            return
        right, down, forward = camera_basis(pose)
        origin = np.asarray(pose.position)
        basis = np.stack([right, down, forward])  # world -> camera
        lo = np.array([b.lo for b in boxes])
        hi = np.array([b.hi for b in boxes])
        # Corner i of every box: x from hi if i & 1, y if i & 2, z if i & 4.
        bits = np.array([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], bool)
        corners = np.where(bits[None], hi[:, None, :], lo[:, None, :])            # [N, 8, 3]
        cam = (corners - origin) @ basis.T                                         # [N, 8, 3]
        depth = cam[..., 2]
        # Whole boxes behind the near plane, too far, or left or right of the view are skipped.
        slope = self.width / 2 / self.focal * 1.05
        visible = (depth.max(axis=1) > NEAR) & (depth.min(axis=1) < FAR) & \
            ~np.all(cam[..., 0] > slope * np.maximum(depth, NEAR), axis=1) & \
            ~np.all(-cam[..., 0] > slope * np.maximum(depth, NEAR), axis=1)
        distance = np.linalg.norm((lo + hi) / 2 - origin, axis=1)
        for index in np.flatnonzero(visible)[np.argsort(-distance[visible], kind="stable")]:
            box = boxes[index]
            for face, normal in _FACES:
                n = np.asarray(normal, float)
                if float((origin - corners[index, face[0]]) @ n) <= 0:  # faces away from the camera
                    continue
                light = 0.55 + 0.45 * max(0.0, float(n @ _SUN))
                colour = tuple(int(c * light) for c in box.colour)
                self._fill(frame, labels, cam[index, list(face)], colour, box.label)
            if box.windows and distance[index] < 80:
                self._windows(frame, box, origin, basis)

    def _fill(self, frame: np.ndarray, labels: np.ndarray, polygon: np.ndarray, colour: tuple, label: int) -> None:
        clipped = _clip_near(polygon)
        if len(clipped) < 3:
            return
        pixels = np.round(self.project(clipped) * (1 << _SHIFT)).astype(np.int64)
        if np.abs(pixels).max() > (1 << 30):
            return
        pts = pixels.astype(np.int32).reshape(-1, 1, 2)
        cv2.fillConvexPoly(frame, pts, colour, lineType=cv2.LINE_8, shift=_SHIFT)
        cv2.fillConvexPoly(labels, pts, int(label), lineType=cv2.LINE_8, shift=_SHIFT)

    def _windows(self, frame: np.ndarray, box: Box, origin: np.ndarray, basis: np.ndarray) -> None:
        """A grid of dark windows on the facade facing the road (their pixels stay building in the labels)."""
        lo, hi = np.asarray(box.lo), np.asarray(box.hi)
        side_x = lo[0] if origin[0] < lo[0] else hi[0] if origin[0] > hi[0] else None
        if side_x is None:
            return
        floors = np.arange(max(1, int((hi[1] - lo[1]) // 3.2)))
        columns = np.arange(max(1, int((hi[2] - lo[2]) // 3.0)))
        y0 = (lo[1] + 1.0 + floors * 3.2)[:, None].repeat(len(columns), 1).ravel()
        z0 = (lo[2] + 0.8 + columns * 3.0)[None, :].repeat(len(floors), 0).ravel()
        quads = np.stack([np.stack([np.full_like(y0, side_x), y0 + dy, z0 + dz], axis=1)
                          for dy, dz in ((0, 0), (1.5, 0), (1.5, 1.4), (0, 1.4))], axis=1)  # [n, 4, 3]
        cam = (quads - origin) @ basis.T
        shade = tuple(int(c * 0.35) for c in box.colour)
        whole = cam[..., 2].min(axis=1) >= NEAR
        if whole.any():  # the usual case: one call for every window in front of the camera
            pts = np.round(self.project(cam[whole].reshape(-1, 3)) * (1 << _SHIFT)).astype(np.int32)
            cv2.fillPoly(frame, list(pts.reshape(-1, 4, 1, 2)), shade, lineType=cv2.LINE_8, shift=_SHIFT)
        for quad in cam[~whole]:
            clipped = _clip_near(quad)
            if len(clipped) >= 3:
                pts = np.round(self.project(clipped) * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
                cv2.fillConvexPoly(frame, pts, shade, lineType=cv2.LINE_8, shift=_SHIFT)


def _frac(values: np.ndarray) -> np.ndarray:
    """The fractional part (faster than ``np.mod`` for float32 arrays)."""
    return values - np.floor(values)


def _clip_near(polygon: np.ndarray) -> np.ndarray:
    """The part of a camera-frame polygon in front of the near plane (Sutherland-Hodgman, one plane)."""
    out = []
    count = len(polygon)
    for i in range(count):
        a, b = polygon[i], polygon[(i + 1) % count]
        a_in, b_in = a[2] >= NEAR, b[2] >= NEAR
        if a_in:
            out.append(a)
        if a_in != b_in:
            k = (NEAR - a[2]) / (b[2] - a[2])
            out.append(a + k * (b - a))
    return np.asarray(out)


def render_frame(scene: StreetScene, camera: StreetCamera, t: float, texture_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The frame (uint8 BGR) and its labels (Cityscapes train ids) at time t."""
    pose = scene.pose(t)
    frame, labels = camera.ground(scene, pose, texture_seed)
    camera.boxes(frame, labels, scene.boxes + scene.moving_boxes(t), pose)
    return frame, labels
