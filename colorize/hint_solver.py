"""Colour hints that fill the object they land on, and stop at its edge: the model's colour corrected by one
edge-aware sparse solve.

The correction (each hint's chroma minus the model's there) spreads over the photo as the minimiser of a quadratic
(Levin, Lischinski and Weiss 2004, *Colorization using Optimization*): neighbouring pixels must get similar
corrections where they look alike, with the 8-neighbour affinity

    exp(-dY^2 / 2 s^2  -  dC^2 / COLOUR_SCALE  -  dYm^2 / COARSE_SCALE)

dY the luminance step (s^2 the local variance of the texture, floored, so grass of many grays joins), dC the step
in the model's own colour (it tells a red jumper from a face of the same gray where the model sees them apart), and
dYm the step in the luminance's median over a few pixels (regions of different mean brightness part even where
their textures' steps are alike; a median, unlike a blur, leaves no ramp beside a strong edge to cut a rim off the
region). A small decay pulls the correction towards none, so a region no hint reaches keeps the
model's colour.

That solution fades with distance from a hint. Normalised propagation restores full strength: the hints' weights
are propagated alongside their corrections, and their ratio is each pixel's weighted-mean hint correction. How much
of it applies (alpha) is the weight a pixel receives relative to what its hints' own neighbourhoods receive: full
across the hinted region (at FULL_SHARE of it and above), falling to 0 beyond an edge. Which hints' colours a
pixel takes is decided by the same propagation with a shorter reach (BLEND_DECAY), so that of two hints in one
region, each colours its own side. A hint on a cell of the working grid that straddles an edge lands on the
neighbouring cell of its own brightness (`Hints.rasterise`).

How the correction lands on a pixel, two facts of colour rather than of the solve:
- along the hint's direction, it moves the pixel towards the hinted colour and not past it: where the model
  already gave the pixel more of the hint's colour than it gave the hinted pixel, the pixel keeps the model's; the
  model's variation across that direction stays;
- it shrinks where the pixel has less room for colour than the hinted pixel had (room: the luminance's distance
  to black or white, whichever is nearer), down to half: the dark folds of a red jumper stay dark red, not purple.

The system is solved at a small working size (WORK_PX on the long side: two sparse LU factorisations, one per
reach, then a few solves), the result laid on the photo along its edges (`colorize.edge_aware`) at most DETAIL_PX
on the long side, and the merge lays that on the full-size photo. Written by hand: scipy solves the system, but no
maintained library builds this affinity or propagation.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from colorize.edge_aware import fit, lay_on
from colorize.hints import Hints

# Long side of the grid the system is solved on, and the most the corrected colour it returns has (the merge lays
# that on the full-size photo: the arithmetic of a 12 MP photo at full size took 2 s, at 1024 px 0.1 s).
WORK_PX = 128
DETAIL_PX = 1024
# Decay towards no correction, per pixel of the working grid (its reach where the photo is flat: ~1/sqrt(lam) px).
DECAY = 4e-5
# The decay of the propagation that decides which hints a pixel follows (reach ~1/sqrt: 32 working pixels).
BLEND_DECAY = 1e-3
# Below this weight no hint is within that reach, and the long reach's mean stands in; below MIN_WEIGHT no hint
# reaches a pixel at all (the solve's numbers there are round-off).
MIN_BLEND_WEIGHT = 1e-9
MIN_WEIGHT = 1e-30
# Weight of a hint's own pixel against the affinities (each at most 1 per neighbour).
HINT_WEIGHT = 100.0
# Floor of the local luminance variance in the affinity (luminance in 0..1): flat areas do not turn every grain of
# noise into an edge.
MIN_VARIANCE = 3e-4
VARIANCE_WINDOW_PX = 5
# The affinity's scale for steps in the model's colour (CbCr, squared) ...
COLOUR_SCALE = 3e-4
# ... and for steps in the luminance's median over COARSE_PX working pixels (it averages texture and keeps edges).
COARSE_SCALE = 1e-3
COARSE_PX = 7
# A hint's own region is judged by the weight its unhinted neighbours within this window receive; a pixel receiving
# this share of it takes the hint's correction in full.
NEIGHBOURHOOD_PX = 5
FULL_SHARE = 0.6
# The window of the correction's lay-on, in working pixels: one, so a correction stays in its region.
CORRECTION_WINDOW_CELLS = 1
# How far a correction shrinks where a pixel has less room for colour than its hint (the least share it keeps), and
# the room every luminance has (so black and white pixels are not divided by zero).
LEAST_ROOM_SHARE = 0.5
ROOM_FLOOR = 0.05
_NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))  # each undirected pair once


def solve_hints(gray: np.ndarray, chroma: np.ndarray, hints: Hints) -> np.ndarray:
    """(H, W) uint8 photo luminance + the model's (h, w, 2) CbCr at any size + the photo's hints -> (h', w', 2)
    corrected CbCr at the photo's size, or DETAIL_PX on its long side (the merge lays that on the photo's edges).
    A reference photo's matches (`colorize.reference`) are solved first, as hints; a person's own hints then correct
    that colour as they correct the model's, so they win in their objects. Without hints the model's colour comes
    back as it was."""
    work = fit(*gray.shape, WORK_PX)
    if hints.reference is not None:
        matched = hints.reference.match(gray, work)
        chroma = solve(gray, chroma, matched.chroma, matched.hinted)
    return solve(gray, chroma, *hints.rasterise(gray, work))


def solve(gray: np.ndarray, chroma: np.ndarray, target: np.ndarray, hinted: np.ndarray) -> np.ndarray:
    """`solve_hints` on hints laid on the working grid: (rows, cols, 2) CbCr `target` at the (rows, cols) `hinted`
    cells."""
    if not hinted.any():
        return chroma
    height, width = gray.shape
    work = hinted.shape
    chroma = np.ascontiguousarray(chroma, np.float32)
    luma = cv2.resize(gray, work[::-1], interpolation=cv2.INTER_AREA).astype(np.float64) / 255
    model_work = cv2.resize(chroma, work[::-1], interpolation=cv2.INTER_AREA)
    # Spread together: the hints' corrections, their colours and their luminances.
    values = np.concatenate([target - model_work, target, luma[..., None]], axis=-1)  # (h, w, 5)
    spread, alpha = _propagate(values, hinted, luma, model_work)
    detail = fit(height, width, DETAIL_PX)
    gray = gray if detail == (height, width) else cv2.resize(gray, detail[::-1], interpolation=cv2.INTER_AREA)
    spread = lay_on(np.concatenate([spread, alpha[..., None]], -1).astype(np.float32), gray, CORRECTION_WINDOW_CELLS)
    cb, cr, hint_cb, hint_cr, hint_luma, alpha = (spread[..., c] for c in range(6))
    model = lay_on(chroma, gray)
    # Along the correction's direction (ub, ur): from the model's colour towards the hint's, never past it. Planar
    # arithmetic: NumPy does not vectorise a reduction over a last axis of 2.
    size = np.maximum(np.hypot(cb, cr), 1e-6)
    ub, ur = cb / size, cr / size
    now = model[..., 0] * ub + model[..., 1] * ur
    along = np.minimum(now + size, np.maximum(now, hint_cb * ub + hint_cr * ur)) - now
    room_share = np.clip(_room(gray.astype(np.float32) * np.float32(1 / 255)) / _room(hint_luma), LEAST_ROOM_SHARE, 1.0)
    along *= np.clip(alpha, 0.0, 1.0) * room_share
    model[..., 0] += ub * along
    model[..., 1] += ur * along
    return model


def _room(luma: np.ndarray) -> np.ndarray:
    """How much colour a luminance in 0..1 can carry: its distance to black or white, floored."""
    return np.minimum(luma, 1 - luma) + ROOM_FLOOR


def _propagate(values: np.ndarray, hinted: np.ndarray, luma: np.ndarray, colour: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(h, w, C) values at the (h, w) `hinted` pixels, the (h, w) luminance and the model's (h, w, 2) colour ->
    each pixel's weighted mean of its hints' values (h, w, C) and how much of it applies, alpha (h, w) in [0, 1]:
    normalised propagation under `_system`."""
    mask = hinted.ravel().astype(np.float64) * HINT_WEIGHT
    laplacian = _laplacian(luma, colour)
    lu = splu((laplacian + sp.diags(DECAY + mask)).tocsc())
    received = lu.solve(mask)
    reached = received > MIN_WEIGHT  # beyond, the weight has underflowed: no hint reaches the pixel
    received = np.maximum(received, MIN_WEIGHT)
    # What a hint's own region holds: the weight its unhinted neighbours receive (the hinted pixel itself is pinned
    # near 1 by its constraint, however little flows on), propagated as the hints were.
    reach = received.reshape(hinted.shape)
    free = (~hinted).astype(np.float64)
    k = (NEIGHBOURHOOD_PX, NEIGHBOURHOOD_PX)
    free_share = cv2.blur(free, k)
    around = np.where(free_share > 0, cv2.blur(reach * free, k) / np.maximum(free_share, 1e-12), reach)
    own = lu.solve(mask * around.ravel()) / received
    alpha = np.where(reached, np.clip(received / np.maximum(own, MIN_WEIGHT) / FULL_SHARE, 0.0, 1.0), 0.0)
    # Which hints a pixel follows: the same propagation with a shorter reach, so the nearer of two hints in one
    # region wins near it (with the long reach, both weigh alike everywhere and their colours blend).
    # Where even that reach ends, the long one's mean stands in; where no hint reaches at all, there is none.
    channels = values.shape[-1]
    rhs = np.column_stack([mask * values[..., c].ravel() for c in range(channels)])
    near = splu((laplacian + sp.diags(BLEND_DECAY + mask)).tocsc()).solve(np.column_stack([rhs, mask]))
    far = np.where(reached[:, None], lu.solve(rhs) / received[:, None], 0.0)
    mean = np.where(near[:, -1:] > MIN_BLEND_WEIGHT, near[:, :-1] / np.maximum(near[:, -1:], MIN_BLEND_WEIGHT), far)
    return mean.reshape(*hinted.shape, channels), alpha.reshape(hinted.shape)


def _laplacian(luma: np.ndarray, colour: np.ndarray) -> sp.csr_matrix:
    """The (n, n) graph Laplacian of the 8-neighbour affinities of the (h, w) luminance and the model's (h, w, 2)
    colour: the quadratic's smoothness term (its decay and hints go on the diagonal)."""
    h, w = luma.shape
    mean = cv2.blur(luma, (3, 3))
    # The texture's variance, not the edge's: each pixel takes the least 3x3 variance around it, so a window that
    # straddles an edge does not make the edge look like texture.
    variance = cv2.erode(cv2.blur(luma * luma, (3, 3)) - mean * mean, np.ones((VARIANCE_WINDOW_PX, VARIANCE_WINDOW_PX)))
    variance = np.maximum(variance, MIN_VARIANCE)
    # An edge is an edge if the photo or its 3x3 median shows it: grain cannot open a path through an edge the
    # median sees, and a line one pixel wide, which the median erases, still stops colour.
    median = cv2.medianBlur(luma.astype(np.float32), 3).astype(np.float64)
    coarse = cv2.medianBlur(np.rint(luma * 255).astype(np.uint8), COARSE_PX).astype(np.float64) / 255
    index = np.arange(h * w).reshape(h, w)
    rows, cols, weights = [], [], []
    for dy, dx in _NEIGHBOURS:
        a = (slice(0, h - dy), slice(max(0, -dx), w - max(0, dx)))
        b = (slice(dy, h), slice(max(0, dx), w + min(0, dx)))
        step = np.maximum((luma[a] - luma[b]) ** 2, (median[a] - median[b]) ** 2)
        s2 = variance[a] + variance[b]  # the pair's mean variance, doubled: the 2 s^2 of the affinity
        colour_step = ((colour[a] - colour[b]) ** 2).sum(axis=-1)
        rows.append(index[a].ravel())
        cols.append(index[b].ravel())
        coarse_step = (coarse[a] - coarse[b]) ** 2
        weights.append(np.exp(-step / s2 - colour_step / COLOUR_SCALE - coarse_step / COARSE_SCALE).ravel())
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights)
    affinity = sp.coo_matrix((np.concatenate([v, v]), (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(h * w, h * w))
    degree = np.asarray(affinity.sum(axis=1)).ravel()
    return (sp.diags(degree) - affinity).tocsr()
