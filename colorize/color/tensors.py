"""Colour in torch, differentiable: BT.601 YCbCr (the constants of `colorize.color.ycbcr`) for the losses, the
critic and the film's flicker meter, and CIELAB with its quantised ab space (Zhang et al. 2016, *Colorful Image
Colorization*) for the ab-bin head and its loss. Written by hand: these must be differentiable torch ops to train
end to end, which OpenCV's and scikit-image's are not.

CIELAB: sRGB with the D65 white point; L in [0, 100], a and b roughly in [-110, 110].
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from colorize.color.ycbcr import CHROMA_TO_RGB, RGB_TO_CB, RGB_TO_CR, RGB_TO_Y

AB_GRID = 10  # bin size in ab units (Zhang et al.)
AB_LIMIT = 110
_WHITE = (0.95047, 1.0, 1.08883)
_RGB_TO_XYZ = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
_XYZ_TO_RGB = tuple(map(tuple, np.linalg.inv(np.array(_RGB_TO_XYZ)).tolist()))  # a constant, so exports stay plain
_EPS, _KAPPA = 216 / 24389, 24389 / 27


def rgb_to_chroma(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 2, H, W) Cb, Cr centred on 0."""
    m = rgb.new_tensor([RGB_TO_CB, RGB_TO_CR])  # (2, 3)
    return torch.einsum("kc,bchw->bkhw", m, rgb)


def rgb_to_luma(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) BT.601 luminance."""
    return torch.einsum("c,bchw->bhw", rgb.new_tensor(RGB_TO_Y), rgb).unsqueeze(1)


def merge_luma_chroma(y: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) Y and (B, 2, H, W) CbCr -> (B, 3, H, W) RGB in [0, 1] whose luminance is exactly `y`.

    Where the colour would leave the RGB cube, the chroma is scaled down instead of clipping the channels,
    which would change the luminance (as `colorize.color.ycbcr.merge` does at inference).
    """
    offsets = torch.einsum("ck,bkhw->bchw", y.new_tensor(CHROMA_TO_RGB), chroma)  # (B, 3, H, W)
    room = torch.where(offsets > 0, 1.0 - y, y)  # how far each channel may move in its direction
    limit = torch.where(offsets.abs() > 1e-6, room / offsets.abs().clamp_min(1e-6), torch.ones_like(offsets))
    scale = limit.amin(dim=1, keepdim=True).clamp(0.0, 1.0)
    return (y + scale * offsets).clamp(0.0, 1.0)


def recolor(pred: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """`pred`'s chroma on `real`'s luminance: what inference would make of `pred`, comparable with `real` on colour only."""
    return merge_luma_chroma(rgb_to_luma(real), rgb_to_chroma(pred))


def _srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.04045, c / 12.92, ((c.clamp_min(0) + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    return torch.where(c <= 0.0031308, 12.92 * c, 1.055 * c.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> (B, 3, H, W) L, a, b."""
    lin = _srgb_to_linear(rgb)
    xyz = torch.einsum("kc,bchw->bkhw", lin.new_tensor(_RGB_TO_XYZ), lin) / lin.new_tensor(_WHITE).view(1, 3, 1, 1)
    f = torch.where(xyz > _EPS, xyz.clamp_min(1e-12) ** (1 / 3), (_KAPPA * xyz + 16) / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) L, a, b -> (B, 3, H, W) sRGB, clamped to [0, 1]."""
    return _lab_to_rgb_unclamped(lab).clamp(0, 1)


def gray_to_lightness(gray: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) gray in [0, 1] -> CIELAB L of that neutral gray (the colour's L before a and b move it)."""
    y = _srgb_to_linear(gray)
    return torch.where(y > _EPS, 116 * y.clamp_min(1e-12) ** (1 / 3) - 16, _KAPPA * y)


@functools.lru_cache(maxsize=1)
def ab_bins() -> np.ndarray:
    """(Q, 2) centres of the ab grid cells that some sRGB colour falls into: Q = 261 (Zhang et al.'s 313 include
    colours outside sRGB, which no photo here can hold)."""
    # The most saturated colours lie on the RGB cube's surface: sample it densely, the inside coarsely.
    v, coarse = torch.linspace(0, 1, 160), torch.linspace(0, 1, 24)
    u, w = (t.ravel() for t in torch.meshgrid(v, v, indexing="ij"))
    faces = [torch.stack([f if k == axis else (u if k == (axis + 1) % 3 else w) for k in range(3)])
             for axis in range(3) for f in (torch.zeros_like(u), torch.ones_like(u))]
    inside = torch.stack(torch.meshgrid(coarse, coarse, coarse, indexing="ij")).reshape(3, -1)
    rgb = torch.cat([*faces, inside], dim=1).reshape(1, 3, -1, 1)
    cells = torch.round(rgb_to_lab(rgb)[0, 1:, :, 0] / AB_GRID).int().unique(dim=1)  # (2, Q), sorted
    return (cells.T * AB_GRID).float().numpy()


def _lab_to_rgb_unclamped(lab: torch.Tensor) -> torch.Tensor:
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = torch.where(f ** 3 > _EPS, f ** 3, (116 * f - 16) / _KAPPA) * lab.new_tensor(_WHITE).view(1, 3, 1, 1)
    lin = torch.einsum("kc,bchw->bkhw", lab.new_tensor(_XYZ_TO_RGB), xyz)
    return _linear_to_srgb(lin)


def annealed_mean(logits: torch.Tensor, temperature: float, centres: torch.Tensor) -> torch.Tensor:
    """(B, Q, h, w) bin logits -> (B, 2, h, w) ab: the mean of softmax(logits / T) over the bin centres (Q, 2).

    T = 1 is the plain mean (desaturated where colours are uncertain), T -> 0 the mode (vivid but patchy); Zhang et
    al. use 0.38.
    """
    probs = torch.softmax(logits.float() / temperature, dim=1)
    return torch.einsum("bqhw,qk->bkhw", probs, centres)
