"""Colorization quality against the real colour photo, on (H, W, 3) uint8 arrays.

- psnr: RGB PSNR in dB (higher is better), capped at the 8-bit quantisation limit (MSE 1/12, 58.9 dB) so that an
  exact match (a gray photo against its own gray) cannot dominate a mean with an unbounded value.
- ab_mae: mean absolute error of CIELAB a*, b* (lower is better): chroma error with luminance factored out.
- ab_mae_edges: the same within a few pixels of the photo's strong edges, where colour computed at low resolution
  leaves halos (a pale band around a head against the sky).
- worse_share, better_share (scored with hints): the shares of pixels whose a*b* error true-colour hints raised, or
  lowered, by more than 10 (|a*| + |b*|): hints that leak past an object's edge make pixels worse.
- colorfulness: Hasler & Süsstrunk (2003) on 0..255 RGB; its gap to the real photos' tells washed-out (too low)
  from garish (too high) results.
- ab_mae_gray: the ab error of the gray image itself (no colour at all): a colorization worse than this on
  average has done more harm than good.
- ab_diversity: mean pairwise distance between the photos' mean a*b* (a mode-collapse signal: it falls towards 0
  when every photo gets the same tint); ab_diversity_real is the real photos' own.
- coverage, per hue sector of CIELAB (`colorize.color.ycbcr.HUE_SECTORS`: neutral, warm, yellow, green, blue,
  purple): `SECTOR_share` the share of all output pixels in it, `SECTOR_share_real` the real photos' share, and
  `SECTOR_recall` the share of the pixels truly in it that the model put there (NaN where no pixel truly is). A
  model that never paints green has green_share 0 and green_recall 0, whatever its ab error.
- score: ab_mae + colorfulness_gap, one number to compare runs by (both on comparable scales, tens of units for
  typical photos). The GAN stage's inflection point uses the two separately, accuracy first
  (`colorize.train.gan.choose`).
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from colorize.color.ycbcr import SECTOR_NAMES, hue_sector, lab_ab, to_gray


_MSE_FLOOR = 1 / 12  # variance of uniform rounding to integer levels
# A pixel is made worse (better) by hints where its |a*| + |b*| error grows (falls) by more than this.
HINT_EFFECT_AB = 10.0
# A strong edge: a luminance step of at least this many levels (0..255) across 2 px; its band reaches this far.
EDGE_STEP = 24.0
EDGE_BAND_PX = 6


def psnr(pred: np.ndarray, real: np.ndarray) -> float:
    """RGB PSNR in dB."""
    mse = np.mean((pred.astype(np.float32) - real.astype(np.float32)) ** 2)
    return float(10 * np.log10(255.0**2 / max(mse, _MSE_FLOOR)))


def ab_mae(pred: np.ndarray, real: np.ndarray) -> float:
    """Mean absolute CIELAB a*b* error."""
    return float(np.abs(lab_ab(pred) - lab_ab(real)).mean())


def ab_error_map(pred: np.ndarray, real: np.ndarray) -> np.ndarray:
    """(H, W) CIELAB |a* difference| + |b* difference| of each pixel."""
    return np.abs(lab_ab(pred) - lab_ab(real)).sum(axis=-1)


def hint_effect(plain: np.ndarray, hinted: np.ndarray, real: np.ndarray) -> tuple[float, float]:
    """(worse, better): the shares of pixels whose |a*| + |b*| error hints raised, and lowered, by more than
    HINT_EFFECT_AB: true hints that leak into a neighbouring object of another colour make pixels worse."""
    change = ab_error_map(hinted, real) - ab_error_map(plain, real)
    return float((change > HINT_EFFECT_AB).mean()), float((change < -HINT_EFFECT_AB).mean())


def ab_mae_edges(pred: np.ndarray, real: np.ndarray) -> float:
    """Mean absolute CIELAB a*b* error within EDGE_BAND_PX of the photo's strong edges (luminance steps of at least
    EDGE_STEP levels across 2 px): where colour laid on at low resolution leaves halos. NaN for a photo without."""
    gray = to_gray(real).astype(np.float32)
    step = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)) / 4
    size = 2 * EDGE_BAND_PX + 1
    band = cv2.dilate((step >= EDGE_STEP).astype(np.uint8), np.ones((size, size), np.uint8)) > 0
    if not band.any():
        return float("nan")
    return float((ab_error_map(pred, real)[band] / 2).mean())


def _finite_mean(values: Sequence[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk colourfulness (0 for a gray image)."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ab_diversity(images: Sequence[np.ndarray]) -> float:
    """Mean pairwise Euclidean distance between the images' mean a*b* (0 for a single image)."""
    means = np.array([lab_ab(im).reshape(-1, 2).mean(axis=0) for im in images])
    if len(means) < 2:
        return 0.0
    d = np.linalg.norm(means[:, None] - means[None], axis=-1)
    return float(d[np.triu_indices(len(means), 1)].mean())


def coverage(preds: Sequence[np.ndarray], reals: Sequence[np.ndarray]) -> dict[str, float]:
    """Per hue sector, pooled over all pixels: the output's share, the real photos' share, and the recall."""
    n = len(SECTOR_NAMES)
    confusion = np.zeros((n, n), np.int64)  # [true sector, predicted sector]
    for p, r in zip(preds, reals):
        confusion += np.bincount(hue_sector(r).ravel().astype(np.int64) * n + hue_sector(p).ravel(), minlength=n * n).reshape(n, n)
    total = max(int(confusion.sum()), 1)
    out = {}
    for k, name in enumerate(SECTOR_NAMES):
        truly = confusion[k].sum()
        out[f"{name}_share"] = float(confusion[:, k].sum() / total)
        out[f"{name}_share_real"] = float(truly / total)
        out[f"{name}_recall"] = float(confusion[k, k] / truly) if truly else float("nan")
    return out


def evaluate(preds: Sequence[np.ndarray], reals: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean metrics over a set of (prediction, real) pairs."""
    cf_pred = float(np.mean([colorfulness(p) for p in preds]))
    cf_real = float(np.mean([colorfulness(r) for r in reals]))
    out = {
        "psnr": float(np.mean([psnr(p, r) for p, r in zip(preds, reals)])),
        "ab_mae": float(np.mean([ab_mae(p, r) for p, r in zip(preds, reals)])),
        "ab_mae_edges": _finite_mean([ab_mae_edges(p, r) for p, r in zip(preds, reals)]),
        "ab_mae_gray": float(np.mean([np.abs(lab_ab(r)).mean() for r in reals])),
        "colorfulness": cf_pred,
        "colorfulness_real": cf_real,
        "colorfulness_gap": abs(cf_pred - cf_real),
        "ab_diversity": ab_diversity(preds),
        "ab_diversity_real": ab_diversity(reals),
    }
    out["score"] = out["ab_mae"] + out["colorfulness_gap"]
    out.update(coverage(preds, reals))
    return out
