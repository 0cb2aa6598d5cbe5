"""Colour hints ("her dress was blue"): parsed from the command line or drawn in a hints image, and rendered as
the hint-aware generator's extra input (Zhang et al. 2017, *Real-Time User-Guided Image Colorization*).

A hint map is (3, S, S) at the model's render size: the hinted chroma (BT.601 Cb, Cr, doubled so each spans
[-1, 1]) and a mask, 1 where a hint is. Only chroma is hinted: the photo keeps its own luminance, so "#2050c0" on
a dark coat means a dark blue coat.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageColor, UnidentifiedImageError

from colorize.colour.ycbcr import chroma_of
from colorize.errors import BadInputError, ColorizeError

HINT_CHANNELS = 3
# A point hint covers this many render pixels square: training reveals patches of 1-9 px (`sample_hints`).
POINT_PATCH_PX = 3
# How far a hint's colour spreads (`spread_hints`): this fraction of the render size where the photo is flat, and a
# luminance step (0..1) of about this much stops it. Chosen on training photos (docs/model-card.md).
SPREAD_SIGMA = 0.3
SPREAD_LUMA_SIGMA = 0.1
# The wide field (`hint_field(wide=True)`): the same hints spread over most of the photo, which only a strong edge
# slows. Too leaky to paint with (a red scarf would tint the face), it tells a model what the hints say of the
# whole scene's colour, and the model learns where to trust it.
WIDE_SIGMA = 1.0
WIDE_LUMA_SIGMA = 0.5
# A hints image may differ from its photo's aspect ratio by this much (rounding when one was resized).
ASPECT_TOLERANCE = 0.02
# Pixels of a hints image at least this opaque are hints.
OPAQUE = 128
# `colorize photos` finds a photo's hints image beside it (or in --hints-dir) by this name: NAME.hints.png.
HINTS_SUFFIX = ".hints.png"
_HINT = re.compile(r"\s*(\d+(?:\.\d+)?%?)\s*,\s*(\d+(?:\.\d+)?%?)\s*=\s*(\S.*?)\s*")


def parse_color(text: str) -> tuple[int, int, int]:
    """`#rrggbb`, `#rgb` or a CSS colour name -> (r, g, b) 0..255."""
    try:
        return ImageColor.getrgb(text.strip())[:3]
    except ValueError:
        raise ColorizeError(f"{text!r} is not a colour: use #rrggbb or a CSS colour name such as navy") from None


def rgb_to_hint_chroma(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in [0, 1] -> (..., 2) the hint map's chroma: BT.601 Cb, Cr doubled."""
    return 2 * chroma_of(rgb)


@dataclass(frozen=True)
class PointHint:
    """One `X,Y=COLOR`: a place (pixels of the original photo, or fractions of it) and a colour."""

    x: float
    y: float
    x_is_fraction: bool
    y_is_fraction: bool
    rgb: tuple[int, int, int]
    text: str

    @classmethod
    def parse(cls, text: str) -> "PointHint":
        """`120,340=#2050c0`, `50%,20%=navy`."""
        m = _HINT.fullmatch(text)
        if m is None:
            raise ColorizeError(f"hint {text!r}: expected X,Y=COLOR, e.g. 120,340=#2050c0 or 50%,20%=navy")
        (x, xf), (y, yf) = ((float(v.rstrip("%")), v.endswith("%")) for v in m.group(1, 2))
        return cls(x / 100 if xf else x, y / 100 if yf else y, xf, yf, parse_color(m.group(3)), text)

    def fraction(self, height: int, width: int) -> tuple[float, float]:
        """(fx, fy) in [0, 1): where the hint falls, as fractions of a `width` x `height` photo."""
        fx = self.x if self.x_is_fraction else (self.x + 0.5) / width
        fy = self.y if self.y_is_fraction else (self.y + 0.5) / height
        if not (0 <= fx <= 1 and 0 <= fy <= 1):
            raise ColorizeError(f"hint {self.text!r} is outside the {width}x{height} photo")
        return fx, fy


@dataclass(frozen=True)
class Hints:
    """A photo's hints: points from the command line and/or a hints image (its opaque pixels)."""

    points: tuple[PointHint, ...] = ()
    image: Path | None = None

    def check(self, height: int, width: int) -> None:
        """Raise (naming the bad hint) unless every hint fits a `width` x `height` photo; reads no pixels."""
        for p in self.points:
            p.fraction(height, width)
        if self.image is not None:
            try:
                with Image.open(self.image) as im:
                    self._check_shape(im.size, height, width)
            except (OSError, UnidentifiedImageError, ValueError) as e:
                raise BadInputError(f"{self.image}: cannot read the hints image ({e})") from None

    def _check_shape(self, size: tuple[int, int], height: int, width: int) -> None:
        w, h = size
        if abs((w / h) / (width / height) - 1) > ASPECT_TOLERANCE:
            raise BadInputError(f"{self.image}: hints image is {w}x{h}, not the shape of its {width}x{height} photo")

    def render(self, height: int, width: int, size_px: int) -> np.ndarray:
        """The (3, S, S) hint map for a `width` x `height` photo seen at `size_px`; errors name the bad hint.

        Each hinted photo pixel (a point, or a painted pixel of the hints image) marks the render pixel it falls
        in, with the mean chroma of the pixels that fell there; every marked render pixel then grows to a
        POINT_PATCH_PX square, so a one-pixel dot in a hints image is the same hint as `--hint` at that place.
        """
        chroma_sum = np.zeros((size_px, size_px, 2), np.float64)
        count = np.zeros((size_px, size_px), np.float64)
        if self.image is not None:
            xs, ys, chroma = self._painted(height, width)
            np.add.at(chroma_sum, (_render_index(ys, height, size_px), _render_index(xs, width, size_px)), chroma)
            np.add.at(count, (_render_index(ys, height, size_px), _render_index(xs, width, size_px)), 1.0)
        for p in self.points:
            fx, fy = p.fraction(height, width)
            cy, cx = min(int(fy * size_px), size_px - 1), min(int(fx * size_px), size_px - 1)
            chroma_sum[cy, cx] += rgb_to_hint_chroma(np.asarray(p.rgb, np.float64) / 255)
            count[cy, cx] += 1
        hinted = (count > 0).astype(np.float32)
        centre = np.where(count[..., None] > 0, chroma_sum / np.maximum(count, 1)[..., None], 0).astype(np.float32)
        k = np.ones((POINT_PATCH_PX, POINT_PATCH_PX), np.float32)
        weight = cv2.filter2D(hinted, -1, k, borderType=cv2.BORDER_CONSTANT)
        spread = cv2.filter2D(centre * hinted[..., None], -1, k, borderType=cv2.BORDER_CONSTANT)
        out = np.zeros((size_px, size_px, HINT_CHANNELS), np.float32)
        grown = weight > 0.5
        out[grown, :2] = spread[grown] / weight[grown, None]
        out[grown, 2] = 1.0
        return np.ascontiguousarray(out.transpose(2, 0, 1))

    def _painted(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, chroma) of the hints image's opaque pixels, in the photo's pixel coordinates."""
        try:
            with Image.open(self.image) as im:
                rgba = np.asarray(im.convert("RGBA"))
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise BadInputError(f"{self.image}: cannot read the hints image ({e})") from None
        self._check_shape((rgba.shape[1], rgba.shape[0]), height, width)
        ys, xs = np.nonzero(rgba[..., 3] >= OPAQUE)
        chroma = rgb_to_hint_chroma(rgba[ys, xs, :3].astype(np.float64) / 255)
        # A hints image of another size (same shape) is scaled to the photo.
        return (xs + 0.5) * width / rgba.shape[1] - 0.5, (ys + 0.5) * height / rgba.shape[0] - 0.5, chroma


def spread_hints(chroma: np.ndarray, luma: np.ndarray, hint_map: np.ndarray, sigma: float | None = None,
                 luma_sigma: float | None = None) -> np.ndarray:
    """The model's (S, S, 2) CbCr at render size, corrected towards the hints of (3, S, S) `hint_map` (`Hints.render`)
    over the region each belongs to; `luma` is the photo's (S, S) luminance in [0, 1] at the same size.

    Each hinted pixel's residual (hint minus the model's colour there) spreads along paths of steady luminance:
    an edge-aware smoothing (Gastal and Oliveira's domain transform, recursive filter, 2011) of the residuals and
    of the hint mask, whose reach is `sigma` x S px where the photo is flat and which an edge of `luma_sigma`
    stops, so a hint on a scarf stays off the face beyond the collar. At a hint the colour is the hint's; far from
    every hint the model's own; with several, a weighted mean. Written by hand because OpenCV's domain-transform
    filter is only in its contrib build. Any model listens this way; a hint-aware one (`colorize train hints`)
    also sees the hints as input.
    """
    mask = hint_map[2] > 0
    if not mask.any():
        return chroma
    residual = hint_map[:2].transpose(1, 2, 0) / 2 - chroma  # the map holds doubled chroma
    spread, alpha = _spread(residual, mask, luma, sigma, luma_sigma)
    return chroma + alpha[..., None] * spread


def hint_field(hint_map: np.ndarray, luma: np.ndarray, wide: bool = False) -> np.ndarray:
    """(3, S, S) `hint_map` -> the same hints spread over their regions as `spread_hints` spreads them: the spread
    chroma times its confidence, and the confidence (1 at a hint, falling to 0 far from every hint or past an edge);
    with `wide`, three more channels holding the same spread at WIDE_SIGMA and WIDE_LUMA_SIGMA.

    What a model built with `hints_spread` sees instead of the points: from a handful of points a fine-tuned
    network learns little in a few thousand steps (docs/model-card.md), while a field covering the hinted regions
    reaches the decoder's last layers, which also see the U-Net's input, and only has to be trusted or not. No
    hints give zeros, as for the points, so a zero-initialised projection still leaves the base model as it was.
    """
    mask = hint_map[2] > 0
    if not mask.any():
        return np.zeros((hint_input_channels(True, wide), *mask.shape), np.float32)
    reaches = [(None, None)] + ([(WIDE_SIGMA, WIDE_LUMA_SIGMA)] if wide else [])
    planes = []
    for sigma, luma_sigma in reaches:
        chroma, alpha = _spread(hint_map[:2].transpose(1, 2, 0), mask, luma, sigma, luma_sigma)
        planes += [chroma * alpha[..., None], alpha[..., None]]
    return np.ascontiguousarray(np.dstack(planes).transpose(2, 0, 1).astype(np.float32))


def hint_input_channels(spread: bool, wide: bool) -> int:
    """How many channels a hint-aware model's hint input has: the map's, or its field's (`hint_field`)."""
    return HINT_CHANNELS * (2 if spread and wide else 1)


def model_hint_input(hint_map: np.ndarray | None, luma: np.ndarray | None, size_px: int, spread: bool,
                     wide: bool = False) -> np.ndarray:
    """What a hint-aware model sees of one photo's (3, S, S) hint map (None: no hints) over its (S, S) `luma`:
    zeros for none, else the map, or with `spread` (the model's `hints_spread`, `hints_wide`) its `hint_field`."""
    if hint_map is None:
        return np.zeros((hint_input_channels(spread, wide), size_px, size_px), np.float32)
    return hint_field(hint_map, luma, wide) if spread else hint_map


def _spread(values: np.ndarray, mask: np.ndarray, luma: np.ndarray, sigma: float | None = None,
            luma_sigma: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(S, S, C) `values` at the (S, S) bool `mask` spread along paths of steady `luma` -> their weighted mean at
    every pixel (S, S, C) and its confidence (S, S) in [0, 1] (`spread_hints` tells the rule)."""
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


def _render_index(coord: np.ndarray, extent: int, size_px: int) -> np.ndarray:
    """Photo pixel coordinates -> the render pixel each falls in (the rule `PointHint.fraction` uses)."""
    return np.clip(((coord + 0.5) / extent * size_px).astype(np.int64), 0, size_px - 1)


def sample_point_hints(rgb: np.ndarray, n: int, rng: np.random.Generator) -> Hints:
    """`n` hints at random places of (H, W, 3) uint8 photo `rgb`, each giving its true colour there (the mean of
    the 3x3 pixels around it): what `colorize eval --hints N` and the hints stage score with."""
    h, w = rgb.shape[:2]
    points = []
    for _ in range(n):
        x, y = int(rng.integers(w)), int(rng.integers(h))
        patch = rgb[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].reshape(-1, 3).mean(axis=0)
        colour = tuple(int(round(c)) for c in patch)
        points.append(PointHint(x, y, False, False, colour, f"{x},{y}=#{colour[0]:02x}{colour[1]:02x}{colour[2]:02x}"))
    return Hints(tuple(points))
