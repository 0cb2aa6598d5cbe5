"""Objectives that aim at vivid colour rather than the average: ab-bin classification with class rebalancing
(Zhang et al. 2016, *Colorful Image Colorization*), the same rebalancing applied to the chroma L1 (`BinWeights`),
and DDColor's colourfulness term (Kang et al. 2023).

L1 regression predicts, where an object could be red or green, the median of its colours: brown. Classifying the
colour into bins keeps the modes apart, and rebalancing the rare, saturated bins up stops the common desaturated
ones (sky, earth, walls) from dominating the gradient.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorize.color.tensors import AB_GRID, ab_bins, rgb_to_lab

SOFT_NEIGHBOURS = 5  # bins each true colour is spread over (Zhang et al.)
SOFT_SIGMA = 5.0  # ab units, for the soft encoding and for smoothing the prior
_AB_CELLS = 11  # every sRGB colour's a*, b* lie within ±110: grid cells -11..11 per axis


def soft_encode(ab: torch.Tensor, centres: torch.Tensor, k: int = SOFT_NEIGHBOURS, sigma: float = SOFT_SIGMA) -> torch.Tensor:
    """(B, 2, h, w) ab -> (B, Q, h, w) target distribution: its k nearest bins weighted by a Gaussian of width
    `sigma`, summing to 1 per pixel."""
    b, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)  # (N, 2)
    d2 = torch.cdist(flat, centres).pow(2)  # (N, Q)
    near, idx = d2.topk(k, dim=1, largest=False)
    weights = torch.softmax(-near / (2 * sigma**2), dim=1)
    target = torch.zeros_like(d2).scatter_(1, idx, weights)
    return target.reshape(b, h, w, -1).permute(0, 3, 1, 2)


def ab_prior(images: Iterable[np.ndarray], pixels_per_image: int = 4096, seed: int = 0) -> np.ndarray:
    """(Q,) empirical distribution of ab bins over (H, W, 3) uint8 photos, smoothed with a Gaussian of
    SOFT_SIGMA in ab space (Zhang et al.'s p̃)."""
    centres = torch.from_numpy(ab_bins())
    rng = np.random.default_rng(seed)
    counts = torch.zeros(len(centres), dtype=torch.float64)
    for img in images:
        flat = img.reshape(-1, 3)
        take = flat[rng.integers(0, len(flat), min(pixels_per_image, len(flat)))]
        rgb = torch.from_numpy(take.astype(np.float32) / 255).T.reshape(1, 3, -1, 1)
        ab = rgb_to_lab(rgb)[0, 1:, :, 0].T  # (N, 2)
        nearest = torch.cdist(ab, centres).argmin(dim=1)
        counts += torch.bincount(nearest, minlength=len(centres)).double()
    if counts.sum() == 0:
        raise ValueError("no pixels to estimate the ab prior from")
    p = counts / counts.sum()
    smooth = torch.exp(-torch.cdist(centres, centres).pow(2) / (2 * SOFT_SIGMA**2)).double()
    p = smooth @ p
    return (p / p.sum()).float().numpy()


def rebalance_weights(prior: np.ndarray, lam: float = 0.5) -> np.ndarray:
    """w ∝ ((1 − λ)·p̃ + λ/Q)⁻¹, normalised so that E_p̃[w] = 1 (Zhang et al., eq. 4)."""
    q = len(prior)
    w = 1.0 / ((1 - lam) * prior + lam / q)
    return (w / float((prior * w).sum())).astype(np.float32)


class BinWeights(nn.Module):
    """Target RGB in [0, 1] -> the rebalancing weight of each pixel's nearest ab bin, (B, 1, H, W)."""

    def __init__(self, weights: np.ndarray) -> None:
        super().__init__()
        # Bins are cells of the AB_GRID lattice, so a lookup table over every cell finds a pixel's bin by rounding,
        # at full resolution for the cost of a colour conversion (no distance to all Q bins per pixel).
        cells = torch.arange(-_AB_CELLS, _AB_CELLS + 1, dtype=torch.float32) * AB_GRID
        grid = torch.stack(torch.meshgrid(cells, cells, indexing="ij"), dim=-1).reshape(-1, 2)
        nearest = torch.cdist(grid, torch.from_numpy(ab_bins())).argmin(dim=1)
        self.register_buffer("table", torch.from_numpy(weights)[nearest].reshape(len(cells), len(cells)), persistent=False)

    def forward(self, target_rgb: torch.Tensor) -> torch.Tensor:
        with torch.autocast(target_rgb.device.type, enabled=False):
            ab = rgb_to_lab(target_rgb.float())[:, 1:]
            cell = (torch.round(ab / AB_GRID).long() + _AB_CELLS).clamp(0, 2 * _AB_CELLS)
            return self.table[cell[:, 0], cell[:, 1]].unsqueeze(1)


class BinClassificationLoss(nn.Module):
    """Rebalanced cross-entropy between bin logits and the soft-encoded true colour, averaged over pixels."""

    def __init__(self, weights: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("centres", torch.from_numpy(ab_bins()), persistent=False)
        self.register_buffer("weights", torch.from_numpy(weights), persistent=False)

    def forward(self, logits: torch.Tensor, target_rgb: torch.Tensor) -> torch.Tensor:
        """(B, Q, h, w) logits and (B, 3, H, W) true colour in [0, 1] (averaged down to h x w) -> scalar."""
        with torch.autocast(logits.device.type, enabled=False):
            small = F.adaptive_avg_pool2d(target_rgb.float(), logits.shape[-2:])
            target = soft_encode(rgb_to_lab(small)[:, 1:], self.centres)
            pixel_w = self.weights[target.argmax(dim=1)]  # (B, h, w): the weight of each pixel's nearest bin
            ce = -(target * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
            return (pixel_w * ce).mean()


def colorfulness_loss(rgb: torch.Tensor) -> torch.Tensor:
    """1 − C(pred), C the Hasler–Süsstrunk colourfulness of (B, 3, H, W) RGB in [0, 1] per image, averaged
    (DDColor's form; its authors use weight 0.5 and warn of red blotches there)."""
    with torch.autocast(rgb.device.type, enabled=False):
        r, g, b = rgb.float().unbind(1)
        rg, yb = r - g, 0.5 * (r + g) - b
        std = torch.sqrt(rg.flatten(1).var(dim=1) + yb.flatten(1).var(dim=1) + 1e-8)
        mean = torch.sqrt(rg.flatten(1).mean(dim=1) ** 2 + yb.flatten(1).mean(dim=1) ** 2 + 1e-8)
        return (1 - (std + 0.3 * mean)).mean()
