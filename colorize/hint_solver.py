"""Colour hints that fill the object they land on: the model's colour corrected by one edge-aware sparse solve.

The correction (each hint's chroma minus the model's chroma there) spreads over the photo as the minimiser of a
quadratic (Levin, Lischinski and Weiss 2004, *Colorization using Optimization*): neighbours of similar luminance
must get similar corrections, with the 8-neighbour affinity exp(-dY^2 / 2 s^2), s^2 the local variance of the
texture (floored), so a hint's reach is decided by the photo's edges, not by a fixed radius. A small decay
`lam` pulls the correction towards none, so a region no hint reaches keeps the model's colour.

That solution fades with distance from a hint. Normalised propagation restores full strength: the hints' weights
are propagated alongside their corrections, and their ratio is each pixel's weighted-mean hint correction. How
much of it applies (alpha) is the weight a pixel receives relative to what its hints' own neighbourhoods receive,
so it is ~1 across the hinted region and falls to 0 beyond an edge.

The system is solved at a small working size (WORK_PX on the long side: one sparse LU factorisation, then a solve
per right-hand side), and the correction is brought to DETAIL_PX by a guided filter on the photo's luminance (He,
Sun and Tang 2010), which puts its edges back on the photo's. Written by hand: scipy solves the system, but no
maintained library builds this affinity or fast guided upsampling (OpenCV's guided filter is contrib-only).
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from colorize.hints import Hints

# Long side of the grid the system is solved on, and of the correction handed to the merge (which resizes on).
WORK_PX = 128
DETAIL_PX = 1024
# Decay towards no correction, per pixel of the working grid (its reach where the photo is flat: ~1/sqrt(lam) px).
DECAY = 1e-4
# Weight of a hint's own pixel against the affinities (each at most 1 per neighbour).
HINT_WEIGHT = 100.0
# Floor of the local luminance variance in the affinity (luminance in 0..1): flat areas do not turn every grain of
# noise into an edge.
MIN_VARIANCE = 3e-4
VARIANCE_WINDOW_PX = 5
# A hint's own region is judged by the weight its unhinted neighbours within this window receive.
NEIGHBOURHOOD_PX = 5
# The guided filter's window radius in detail pixels per working pixel, and its regularisation (luminance 0..1).
GUIDE_RADIUS_PER_WORK_PX = 1.0
GUIDE_EPS = 1e-3
_NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))  # each undirected pair once


def solve_hints(gray: np.ndarray, chroma: np.ndarray, hints: Hints) -> np.ndarray:
    """(H, W) uint8 photo luminance + the model's (h, w, 2) CbCr at any size + the photo's hints -> (h', w', 2)
    corrected CbCr at detail size (the photo's own, or DETAIL_PX on the long side). Without hints the model's
    colour comes back as it was."""
    height, width = gray.shape
    work = _fit(height, width, WORK_PX)
    target, hinted = hints.rasterise(height, width, work)
    if not hinted.any():
        return chroma
    detail = _fit(height, width, DETAIL_PX)
    model_detail = cv2.resize(np.ascontiguousarray(chroma, np.float32), detail[::-1], interpolation=cv2.INTER_LINEAR)
    luma = cv2.resize(gray, work[::-1], interpolation=cv2.INTER_AREA).astype(np.float64) / 255
    model_work = cv2.resize(np.ascontiguousarray(chroma, np.float32), work[::-1], interpolation=cv2.INTER_AREA)
    correction, alpha = _propagate(target - model_work, hinted, luma, DECAY)  # (h, w, 2), (h, w)
    guide = cv2.resize(gray, detail[::-1], interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    radius = max(1, round(GUIDE_RADIUS_PER_WORK_PX * detail[0] / work[0]))
    return model_detail + _guided_upsample((correction * alpha[..., None]).astype(np.float32), guide, radius)


def _fit(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(rows, cols) of the photo scaled so its long side is at most `long_side`."""
    scale = min(1.0, long_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _propagate(residual: np.ndarray, hinted: np.ndarray, luma: np.ndarray, decay: float) -> tuple[np.ndarray, np.ndarray]:
    """(h, w, 2) hint residuals at the (h, w) `hinted` pixels -> each pixel's weighted-mean residual (h, w, 2) and
    how much of it applies, alpha (h, w) in [0, 1]: normalised propagation under `_system`."""
    mask = hinted.ravel().astype(np.float64) * HINT_WEIGHT
    lu = splu(_system(luma, mask, decay))
    rhs = np.column_stack([mask * residual[..., 0].ravel(), mask * residual[..., 1].ravel(), mask])
    spread = lu.solve(rhs)  # (n, 3): propagated residuals and weight
    weight = np.maximum(spread[:, 2], 1e-30)
    # What a hint's own region holds: the weight its unhinted neighbours receive (the hinted pixel itself is pinned
    # near 1 by its constraint, however little flows on), propagated as the residuals were.
    reach = weight.reshape(hinted.shape)
    free = (~hinted).astype(np.float64)
    k = (NEIGHBOURHOOD_PX, NEIGHBOURHOOD_PX)
    free_share = cv2.blur(free, k)
    around = np.where(free_share > 0, cv2.blur(reach * free, k) / np.maximum(free_share, 1e-12), reach)
    own = lu.solve(mask * around.ravel()) / weight
    alpha = np.clip(weight / np.maximum(own, 1e-30), 0.0, 1.0)
    mean_residual = spread[:, :2] / weight[:, None]
    return mean_residual.reshape(*hinted.shape, 2), alpha.reshape(hinted.shape)


def _system(luma: np.ndarray, mask: np.ndarray, decay: float) -> sp.csc_matrix:
    """The (n, n) matrix of the quadratic: graph Laplacian of the 8-neighbour luminance affinities, plus the decay,
    plus the hints' weights on the diagonal."""
    h, w = luma.shape
    mean = cv2.blur(luma, (3, 3))
    # The texture's variance, not the edge's: each pixel takes the least 3x3 variance around it, so a window that
    # straddles an edge does not make the edge look like texture.
    variance = cv2.erode(cv2.blur(luma * luma, (3, 3)) - mean * mean, np.ones((VARIANCE_WINDOW_PX, VARIANCE_WINDOW_PX)))
    variance = np.maximum(variance, MIN_VARIANCE)
    # An edge is an edge if the photo or its 3x3 median shows it: grain cannot open a path through an edge the
    # median sees, and a line one pixel wide, which the median erases, still stops colour.
    median = cv2.medianBlur(luma.astype(np.float32), 3).astype(np.float64)
    index = np.arange(h * w).reshape(h, w)
    rows, cols, weights = [], [], []
    for dy, dx in _NEIGHBOURS:
        a = (slice(0, h - dy), slice(max(0, -dx), w - max(0, dx)))
        b = (slice(dy, h), slice(max(0, dx), w + min(0, dx)))
        step = np.maximum((luma[a] - luma[b]) ** 2, (median[a] - median[b]) ** 2)
        s2 = variance[a] + variance[b]  # the pair's mean variance, doubled: the 2 s^2 of the affinity
        rows.append(index[a].ravel())
        cols.append(index[b].ravel())
        weights.append(np.exp(-step / s2).ravel())
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights)
    affinity = sp.coo_matrix((np.concatenate([v, v]), (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(h * w, h * w))
    degree = np.asarray(affinity.sum(axis=1)).ravel()
    return (sp.diags(degree + decay + mask) - affinity).tocsc()


def _guided_upsample(values: np.ndarray, guide: np.ndarray, radius: int) -> np.ndarray:
    """(h, w, C) `values` -> (H, W, C) at the (H, W) `guide`'s size, following its edges: bilinear upsampling, then
    a guided filter per channel (He et al.'s local linear model of the values in the guide)."""
    size = guide.shape[::-1]
    up = cv2.resize(values, size, interpolation=cv2.INTER_LINEAR)
    k = (2 * radius + 1, 2 * radius + 1)
    mean_i = cv2.blur(guide, k)
    var_i = cv2.blur(guide * guide, k) - mean_i * mean_i
    out = np.empty_like(up)
    for ch in range(up.shape[2]):
        p = up[..., ch]
        mean_p = cv2.blur(p, k)
        a = (cv2.blur(guide * p, k) - mean_i * mean_p) / (var_i + GUIDE_EPS)
        b = mean_p - a * mean_i
        out[..., ch] = cv2.blur(a, k) * guide + cv2.blur(b, k)
    return out
