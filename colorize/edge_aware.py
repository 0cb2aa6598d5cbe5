"""Colour computed at low resolution laid on a photo along its own edges: a guided filter (He, Sun and Tang 2010).

Within each window the colour is fitted as a linear function of the photo's luminance, so where an edge crosses the
window, each side gets its own colour: the pale band a bilinear upsampling leaves around a dark head against the
sky goes. The fit runs on the colour's own grid, against the luminance brought to that grid, over a window of a few
of its cells (the scale at which the colour is blurred); its coefficients are then brought to full resolution and
applied to the photo's own luminance (the fast guided filter of He and Sun 2015), so colour edges sit on the photo's
edges at any size for a few box filters on a small grid. Each pixel takes the coefficients of the windows around
it, interpolated, not their average over the window as in the original filter: between two flat regions every
window's line then passes through both regions' colours, and no colour crosses the edge.

Written by hand: OpenCV's guided filter is in the contrib package only, and it has no fast (subsampled) form.
"""

from __future__ import annotations

import cv2
import numpy as np

# Half-width of the filter's window, in cells of the colour's grid: the model's colour is blurred over a few of its
# pixels, and a window that spans the blur finds the edge's two sides. 4 removed the pale halo around the head on
# the cameraman sample where 1 and 2 left part of it (docs/experiments/2026-12-07-colour-that-stays-in-its-object.md).
WINDOW_CELLS = 4
# The filter's regularisation (a luminance variance, luminance in 0..1): a window that varies less counts as flat and
# takes its mean colour, so grain does not turn into colour. At a sharp edge between two flat regions the other
# side's colour mixes in by 2 % at 3e-4 (1 % at 1e-4, 7 % at 1e-3).
EPS = 3e-4


def fit(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(rows, cols) of a (height, width) grid scaled so its long side is at most `long_side`."""
    scale = min(1.0, long_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def lay_on(values: np.ndarray, gray: np.ndarray, window_cells: int = WINDOW_CELLS) -> np.ndarray:
    """(h, w, C) float32 values at any size (the model's chroma) + (H, W) uint8 luminance -> (H, W, C) float32
    following the luminance's edges, fitted over windows of 2 `window_cells` + 1 cells of the values' grid (or of
    the photo's, where that is smaller)."""
    height, width = gray.shape
    grid = values.shape[:2] if values.shape[0] * values.shape[1] < height * width else (height, width)
    guide = cv2.resize(gray, grid[::-1], interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
    values = _resize(values, grid)
    a, b = _coefficients(values, guide, window_cells)
    # A line fitted in a window is no licence to leave the window's range: where the photo is brighter or darker
    # than anything the window held, the line would invent a colour more saturated than any it was given.
    kernel = np.ones((2 * window_cells + 1, 2 * window_cells + 1), np.uint8)
    low = np.stack([cv2.erode(values[..., c], kernel) for c in range(values.shape[2])], axis=-1)
    high = np.stack([cv2.dilate(values[..., c], kernel) for c in range(values.shape[2])], axis=-1)
    # Each brought to full size (OpenCV's bilinear resize is fast; they are held at full size, ~5 GB for a 2-channel
    # colour on a 150 MP photo), then the line and the clip in place.
    out = _resize(a, (height, width))
    out *= (gray.astype(np.float32) * np.float32(1 / 255))[..., None]
    out += _resize(b, (height, width))
    return np.clip(out, _resize(low, (height, width)), _resize(high, (height, width)), out=out)


def _resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, C) float32 -> (rows, cols, C), bilinear; OpenCV drops a last axis of 1, which this keeps."""
    values = np.ascontiguousarray(values, np.float32)
    if values.shape[:2] == tuple(size):
        return values
    return cv2.resize(values, size[::-1], interpolation=cv2.INTER_LINEAR).reshape(*size, values.shape[2])


def _coefficients(values: np.ndarray, guide: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Each window's least-squares line (a, b), each (h, w, C): values ~ a * guide + b over the (2 radius + 1)^2
    pixels around each pixel, a shrunk towards 0 where the guide is flat (EPS)."""
    window = (2 * radius + 1, 2 * radius + 1)
    mean_i = cv2.blur(guide, window)
    var_i = cv2.blur(guide * guide, window) - mean_i * mean_i
    a = np.empty_like(values)
    b = np.empty_like(values)
    for ch in range(values.shape[2]):
        mean_p = cv2.blur(values[..., ch], window)
        a[..., ch] = (cv2.blur(guide * values[..., ch], window) - mean_i * mean_p) / (var_i + EPS)
        b[..., ch] = mean_p - a[..., ch] * mean_i
    return a, b
