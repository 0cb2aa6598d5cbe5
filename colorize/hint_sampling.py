"""Hints as a scorer places them: true colours at random places (`colorize eval --hints N`, the hints stage's
training and scores) or one in each of a photo's largest regions of one colour, as a person clicks
(`colorize eval --object-hints N`)."""

from __future__ import annotations

import cv2
import numpy as np

from colorize.hints import Hints, PointHint


def sample_point_hints(rgb: np.ndarray, n: int, rng: np.random.Generator) -> Hints:
    """`n` hints at random places of (H, W, 3) uint8 photo `rgb`, each giving its true colour there (the mean of
    the 3x3 pixels around it): what `colorize eval --hints N` and the hints stage score with."""
    h, w = rgb.shape[:2]
    points = []
    for _ in range(n):
        x, y = int(rng.integers(w)), int(rng.integers(h))
        patch = rgb[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].reshape(-1, 3).mean(axis=0)
        color = tuple(int(round(c)) for c in patch)
        points.append(PointHint(x, y, False, False, color, f"{x},{y}=#{color[0]:02x}{color[1]:02x}{color[2]:02x}"))
    return Hints(tuple(points))


# `sample_object_hints` segments a photo by its true colour at this long side, into this many colour clusters.
OBJECT_SEGMENT_PX = 160
OBJECT_COLORS = 8


def sample_object_hints(rgb: np.ndarray, n: int) -> Hints:
    """One hint in each of the `n` largest regions of one colour in (H, W, 3) uint8 photo `rgb`, at the region's
    most interior point, with the region's true mean colour: how a person hints (one click on the dress, one on
    the lawn), for `colorize eval --object-hints N`. Regions: CIELAB k-means into OBJECT_COLORS colours, split
    into connected parts (OpenCV; deterministic)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, OBJECT_SEGMENT_PX / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    cv2.setRNGSeed(0)
    k = min(OBJECT_COLORS, len(lab))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    _, labels, _ = cv2.kmeans(lab, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.reshape(small.shape[:2])
    regions = []  # (area, label image of the part)
    for c in range(k):
        count, parts = cv2.connectedComponents((labels == c).astype(np.uint8), connectivity=8)
        for part in range(1, count):
            mask = parts == part
            regions.append((int(mask.sum()), mask))
    points = []
    for _, mask in sorted(regions, key=lambda r: -r[0])[:n]:
        # The most interior point: farthest from the region's edge (the photo's border counts as inside).
        inside = np.pad(mask, 1, mode="edge").astype(np.uint8)
        distance = cv2.distanceTransform(inside, cv2.DIST_L2, 5)[1:-1, 1:-1]
        sy, sx = np.unravel_index(int(np.argmax(distance)), distance.shape)
        x, y = min(w - 1, int((sx + 0.5) / scale)), min(h - 1, int((sy + 0.5) / scale))
        color = tuple(int(round(c)) for c in small[mask].mean(axis=0))
        points.append(PointHint(x, y, False, False, color, f"{x},{y}=#{color[0]:02x}{color[1]:02x}{color[2]:02x}"))
    return Hints(tuple(points))
