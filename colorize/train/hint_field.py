"""The hint input of a hint-aware generator (`colorize train hints`; Zhang et al. 2017, *Real-Time User-Guided Image
Colorization*): a (3, S, S) hint map at the model's render size, the hinted chroma (BT.601 Cb, Cr, doubled so each
spans [-1, 1]) and a mask, 1 where a hint is, or that map spread over the hinted regions (`hint_field`). Training
only: at inference the model is shown no hints (zeros, `colorize.pipeline.Colorizer.no_hints`) and the hints
correct its colour through the solve (`colorize.hint_solver`).
"""

from __future__ import annotations

import functools

import numpy as np

HINT_CHANNELS = 3
# A point hint covers this many render pixels square: training reveals patches of 1-9 px (`sample_hints`).
POINT_PATCH_PX = 3
# How far the field a hint-aware model sees spreads (`hint_field`): this fraction of the render size where the photo
# is flat, and a luminance step (0..1) of about this much stops it. Chosen on training photos (docs/experiments/2026-11-30-models-v3-to-v7.md).
SPREAD_SIGMA = 0.3
SPREAD_LUMA_SIGMA = 0.1
# The wide field (`hint_field(wide=True)`): the same hints spread over most of the photo, which only a strong edge
# slows. Too leaky to paint with (a red scarf would tint the face), it tells a model what the hints say of the
# whole scene's colour, and the model learns where to trust it.
WIDE_SIGMA = 1.0
WIDE_LUMA_SIGMA = 0.5


def hint_field(hint_map: np.ndarray, luma: np.ndarray, wide: bool = False) -> np.ndarray:
    """(3, S, S) `hint_map` -> the hints spread over their regions by an edge-aware smoothing (`_spread`): the spread
    chroma times its confidence, and the confidence (1 at a hint, falling to 0 far from every hint or past an edge);
    with `wide`, three more channels holding the same spread at WIDE_SIGMA and WIDE_LUMA_SIGMA.

    What a model whose `hint_input` is `field` sees instead of the points: from a handful of points a fine-tuned
    network learns little in a few thousand steps (docs/experiments/2026-11-30-models-v3-to-v7.md), while a field covering the hinted regions
    reaches the decoder's last layers, which also see the U-Net's input, and only has to be trusted or not. No
    hints give zeros, as for the points, so a zero-initialised projection still leaves the base model as it was.
    """
    mask = hint_map[2] > 0
    if not mask.any():
        return np.zeros((HINT_CHANNELS * (2 if wide else 1), *mask.shape), np.float32)
    reaches = [(None, None)] + ([(WIDE_SIGMA, WIDE_LUMA_SIGMA)] if wide else [])
    planes = []
    for sigma, luma_sigma in reaches:
        chroma, alpha = _spread(hint_map[:2].transpose(1, 2, 0), mask, luma, sigma, luma_sigma)
        planes += [chroma * alpha[..., None], alpha[..., None]]
    return np.ascontiguousarray(np.dstack(planes).transpose(2, 0, 1).astype(np.float32))


def _spread(values: np.ndarray, mask: np.ndarray, luma: np.ndarray, sigma: float | None = None,
            luma_sigma: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(S, S, C) `values` at the (S, S) bool `mask` spread along paths of steady `luma` -> their weighted mean at
    every pixel (S, S, C) and its confidence (S, S) in [0, 1]: an edge-aware smoothing (Gastal and Oliveira's domain
    transform, recursive filter, 2011) of the values and of the mask, whose reach is `sigma` x S px where the photo
    is flat and which an edge of `luma_sigma` stops. At a hint the confidence is 1, far from every hint 0. Written
    by hand because OpenCV's domain-transform filter is only in its contrib build."""
    sigma_px = (SPREAD_SIGMA if sigma is None else sigma) * mask.shape[0]
    luma_sigma = SPREAD_LUMA_SIGMA if luma_sigma is None else luma_sigma
    weight = mask.astype(np.float32)
    spread = _domain_transform(np.dstack([values * weight[..., None], weight]), luma, sigma_px, luma_sigma)
    alpha = np.minimum(1.0, spread[..., -1] / _point_weight(mask.shape[0], sigma_px))
    return spread[..., :-1] / np.maximum(spread[..., -1:], 1e-12), alpha


@functools.lru_cache(maxsize=8)
def _point_weight(size: int, sigma_px: float) -> float:
    """What one point hint (a POINT_PATCH_PX square) keeps of its mask at its own place in a flat photo, where it
    should count in full; the same for every photo of a render size, so computed once."""
    point = np.zeros((size, size, 1), np.float32)
    c, half = size // 2, POINT_PATCH_PX // 2
    point[c - half : c + half + 1, c - half : c + half + 1] = 1.0
    return float(_domain_transform(point, np.zeros((size, size), np.float32), sigma_px, 1.0)[c, c, 0])


def _domain_transform(image: np.ndarray, guide: np.ndarray, sigma_px: float, sigma_r: float, passes: int = 3) -> np.ndarray:
    """(H, W, C) `image` smoothed by the recursive-filter domain transform guided by (H, W) `guide` (Gastal and
    Oliveira 2011, eqs. 11, 14 and 21): horizontal then vertical passes, each causal and anti-causal."""
    out = image.astype(np.float32).copy()
    ratio = sigma_px / sigma_r
    grad_x = 1.0 + ratio * np.abs(np.diff(guide, axis=1))  # (H, W-1): the domain distance between neighbours
    grad_y = 1.0 + ratio * np.abs(np.diff(guide, axis=0))  # (H-1, W)
    for i in range(passes):
        sigma_i = sigma_px * np.sqrt(3.0) * 2 ** (passes - i - 1) / np.sqrt(4**passes - 1)
        a = np.exp(-np.sqrt(2.0) / sigma_i)
        _recursive_pass(out, (a**grad_x).astype(np.float32))
        _recursive_pass(out.transpose(1, 0, 2), (a**grad_y).T.astype(np.float32))
    return out


def _recursive_pass(out: np.ndarray, weight: np.ndarray) -> None:
    """One causal and one anti-causal pass of the recursive filter along axis 1 of (H, W, C) `out`, in place;
    `weight[:, x]` couples columns x and x + 1."""
    for x in range(1, out.shape[1]):
        out[:, x] += weight[:, x - 1, None] * (out[:, x - 1] - out[:, x])
    for x in range(out.shape[1] - 2, -1, -1):
        out[:, x] += weight[:, x, None] * (out[:, x + 1] - out[:, x])
