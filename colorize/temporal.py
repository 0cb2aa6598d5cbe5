"""Temporal stability for film: a chroma stabiliser along optical flow, and the flicker metric that measures it.

Hand-written: no maintained library does chroma propagation for colorization. Each frame's chroma is blended with
the previous frame's stabilised chroma warped along dense optical flow (OpenCV Farneback), weighted by how well the
warp explains the new frame's luminance, and reset at scene cuts. Only chroma is touched; every output frame keeps
its own luminance.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from colorize.color.ycbcr import RGB_TO_Y, chroma_of, to_gray

STABILIZE_WORK_PX = 256  # optical flow runs on frames scaled to this long side
CUT_THRESHOLD = 0.35  # half the L1 distance between two frames' 32-bin luminance histograms above which a shot ends
# A pixel counts as "luminance unchanged" between frames when it moved by at most this many grey levels.
FLICKER_LUMA_TOLERANCE = 4


class ChromaStabilizer:
    """Motion-compensated exponential smoothing of chroma over time; see the module docstring."""

    def __init__(self, strength: float = 0.85, cut_threshold: float = CUT_THRESHOLD, work_px: int = STABILIZE_WORK_PX) -> None:
        self.strength, self.cut_threshold, self.work_px = strength, cut_threshold, work_px
        self.prev_gray: np.ndarray | None = None
        self.prev_chroma: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the past (a new shot or a new clip)."""
        self.prev_gray = self.prev_chroma = None

    def _work_size(self, h: int, w: int) -> tuple[int, int]:
        return work_size(h, w, self.work_px)

    def _is_cut(self, gray: np.ndarray) -> bool:
        return is_cut(self.prev_gray, gray, self.cut_threshold)

    def continue_from(self, rgb: np.ndarray) -> None:
        """Carry on after a finished frame (a resumed `colorize frames`): its colour is where the next one starts."""
        self(to_gray(rgb), chroma_of(rgb.astype(np.float32) / 255))

    def __call__(self, gray: np.ndarray, chroma: np.ndarray) -> np.ndarray:
        """(H, W) uint8 luminance + (h, w, 2) model chroma -> (h', w', 2) stabilised chroma at work size."""
        size = self._work_size(*gray.shape)
        g = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        c = cv2.resize(np.ascontiguousarray(chroma, np.float32), size, interpolation=cv2.INTER_LINEAR)
        if self.prev_gray is not None and self.prev_gray.shape == g.shape and not self._is_cut(g):
            mx, my = came_from(g, self.prev_gray)
            warped_gray = cv2.remap(self.prev_gray, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            warped = cv2.remap(self.prev_chroma, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            # trust the past only where the warp explains the new luminance (no occlusion, no new content)
            err = np.abs(g.astype(np.float32) - warped_gray.astype(np.float32)) / 255.0
            weight = (self.strength * np.exp(-err / 0.04))[..., None]
            c = weight * warped + (1 - weight) * c
        self.prev_gray, self.prev_chroma = g, c.astype(np.float32)
        return self.prev_chroma


def work_size(h: int, w: int, work_px: int = STABILIZE_WORK_PX) -> tuple[int, int]:
    """(width, height) of a frame scaled to `work_px` on its long side (never enlarged), as OpenCV takes sizes."""
    scale = min(1.0, work_px / max(h, w))
    return max(8, round(w * scale)), max(8, round(h * scale))


def is_cut(a: np.ndarray, b: np.ndarray, threshold: float = CUT_THRESHOLD) -> bool:
    """Whether two (H, W) uint8 frames lie either side of a cut: their luminance histograms differ by more than
    `threshold`."""
    ha = cv2.calcHist([a], [0], None, [32], [0, 256]).ravel()
    hb = cv2.calcHist([b], [0], None, [32], [0, 256]).ravel()
    return 0.5 * np.abs(ha / ha.sum() - hb / hb.sum()).sum() > threshold


def came_from(frame: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel of the (h, w) uint8 `frame` came from in `other` (dense optical flow, OpenCV Farneback): the
    (h, w) float32 x and y maps `cv2.remap` takes, not to be written to. The last two answers are kept: the film
    hints ask for the flow both ways between two frames, and the stabiliser for one of them again."""
    key = (frame.shape, hashlib.blake2b(frame, digest_size=16).digest(), hashlib.blake2b(other, digest_size=16).digest())
    if key in _recent_flows:
        return _recent_flows[key]
    flow = cv2.calcOpticalFlowFarneback(frame, other, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    h, w = frame.shape
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), -1)
    _recent_flows[key] = (grid[..., 0] + flow[..., 0], grid[..., 1] + flow[..., 1])
    while len(_recent_flows) > 2:
        _recent_flows.pop(next(iter(_recent_flows)))
    return _recent_flows[key]


_recent_flows: dict = {}


class FlickerMeter:
    """Mean absolute frame-to-frame chroma change (Cb, Cr on a 0..255 scale) over pixels whose luminance
    changed by at most FLICKER_LUMA_TOLERANCE grey levels: colour change with no reason in the picture."""

    def __init__(self) -> None:
        self.prev: tuple[np.ndarray, np.ndarray] | None = None
        self.total, self.count = 0.0, 0

    def add(self, rgb: np.ndarray) -> None:
        """Feed the next output frame (H, W, 3) uint8."""
        rgb = rgb.astype(np.float32)
        y = rgb @ np.asarray(RGB_TO_Y, np.float32)
        c = chroma_of(rgb)
        if self.prev is not None:
            still = np.abs(y - self.prev[0]) <= FLICKER_LUMA_TOLERANCE
            if still.any():
                self.total += float(np.abs(c - self.prev[1])[still].mean()) * still.sum()
                self.count += int(still.sum())
        self.prev = (y, c)

    @property
    def value(self) -> float:
        """The metric; 0 for fewer than two frames."""
        return self.total / self.count if self.count else 0.0
