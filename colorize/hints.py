"""Colour hints ("her dress was blue"): parsed from the command line or drawn in a hints image, and rendered as
the hint-aware generator's extra input (Zhang et al. 2017, *Real-Time User-Guided Image Colorization*).

A hint map is (3, S, S) at the model's render size: the hinted chroma (BT.601 Cb, Cr, doubled so each spans
[-1, 1]) and a mask, 1 where a hint is. Only chroma is hinted: the photo keeps its own luminance, so "#2050c0" on
a dark coat means a dark blue coat.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageColor, UnidentifiedImageError

from colorize.color.ycbcr import chroma_of
from colorize.errors import BadInputError, ColorizeError

log = logging.getLogger(__name__)

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
# A hints image may differ from its photo's aspect ratio by this much (rounding when one was resized).
ASPECT_TOLERANCE = 0.02
# Pixels of a hints image at least this opaque (10 %) are hints, at full strength: a soft brush's faint edge still
# counts. In one without transparency (the photo with strokes painted on it), pixels whose chroma (BT.601 Cb, Cr in
# 0..1 units) is at least this far from gray: the gray photo's own pixels, JPEG noise included, stay well below it.
OPAQUE = 26
STROKE_CHROMA = 0.05
COLOUR_MODES = ("RGB", "RGBA", "P", "PA", "LA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
# `colorize photos` finds a photo's hints image beside it (or in --hints-dir) by this name: NAME.hints.png.
HINTS_SUFFIX = ".hints.png"
_HINT = re.compile(r"\s*(-?\d+(?:\.\d+)?%?)\s*,\s*(-?\d+(?:\.\d+)?%?)\s*=\s*(\S.*?)\s*")


def parse_color(text: str) -> tuple[int, int, int]:
    """`#rrggbb`, `#rgb` or a CSS colour name -> (r, g, b) 0..255. A colour with transparency is refused: a hint
    is a colour the object has, at full strength."""
    try:
        rgba = ImageColor.getrgb(text.strip())
    except ValueError:
        raise ColorizeError(f"{text!r} is not a colour: use #rrggbb or a CSS colour name such as navy") from None
    if len(rgba) == 4 and rgba[3] != 255:
        raise ColorizeError(f"{text!r} has transparency; a hint is an opaque colour: use #rrggbb")
    return rgba[:3]


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
                    _check_colour_mode(self.image, im.mode)
            except (OSError, UnidentifiedImageError, ValueError) as e:
                raise BadInputError(f"{self.image}: cannot read the hints image ({e})") from None

    def _check_shape(self, size: tuple[int, int], height: int, width: int) -> None:
        w, h = size
        if abs((w / h) / (width / height) - 1) > ASPECT_TOLERANCE:
            raise BadInputError(f"{self.image}: hints image is {w}x{h}, not the shape of its {width}x{height} photo")

    def render(self, height: int, width: int, size_px: int) -> np.ndarray:
        """The (3, S, S) hint map a hint-aware model sees, for a `width` x `height` photo at `size_px`: the hinted
        chroma doubled (each channel spans [-1, 1]) and a mask; errors name the bad hint.

        Every marked render pixel (`rasterise`) grows to a POINT_PATCH_PX square, so a one-pixel dot in a hints
        image is the same hint as `--hint` at that place.
        """
        centre, hinted = self.rasterise(height, width, (size_px, size_px))
        k = np.ones((POINT_PATCH_PX, POINT_PATCH_PX), np.float32)
        weight = cv2.filter2D(hinted.astype(np.float32), -1, k, borderType=cv2.BORDER_CONSTANT)
        spread = cv2.filter2D(2 * centre * hinted[..., None], -1, k, borderType=cv2.BORDER_CONSTANT)
        out = np.zeros((size_px, size_px, HINT_CHANNELS), np.float32)
        grown = weight > 0.5
        out[grown, :2] = spread[grown] / weight[grown, None]
        out[grown, 2] = 1.0
        return np.ascontiguousarray(out.transpose(2, 0, 1))

    def rasterise(self, height: int, width: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The hints of a `width` x `height` photo on a grid of `shape` (rows, cols): each hinted photo pixel (a
        point, or a painted pixel of the hints image) marks the grid pixel it falls in, with the mean chroma of
        those that fell there. Returns (rows, cols, 2) float32 BT.601 CbCr and the (rows, cols) bool mask."""
        rows, cols = shape
        chroma_sum = np.zeros((rows, cols, 2), np.float64)
        count = np.zeros((rows, cols), np.float64)
        if self.image is not None:
            xs, ys, chroma = self._painted(height, width)
            at = (_grid_index(ys, height, rows), _grid_index(xs, width, cols))
            np.add.at(chroma_sum, at, chroma)
            np.add.at(count, at, 1.0)
        for p in self.points:
            fx, fy = p.fraction(height, width)
            cy, cx = min(int(fy * rows), rows - 1), min(int(fx * cols), cols - 1)
            chroma_sum[cy, cx] += chroma_of(np.asarray(p.rgb, np.float64) / 255)
            count[cy, cx] += 1
        hinted = count > 0
        centre = np.where(hinted[..., None], chroma_sum / np.maximum(count, 1)[..., None], 0).astype(np.float32)
        return centre, hinted

    def _painted(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, chroma) of the hints image's painted pixels, in the photo's pixel coordinates: its opaque pixels,
        or in an image without transparency (the photo with strokes painted on it, saved flat), its coloured ones."""
        rgba, painted = read_painted(self.image)
        self._check_shape((rgba.shape[1], rgba.shape[0]), height, width)
        ys, xs = np.nonzero(painted)
        chroma = chroma_of(rgba[ys, xs, :3].astype(np.float64) / 255)
        # A hints image of another size (same shape) is scaled to the photo.
        return (xs + 0.5) * width / rgba.shape[1] - 0.5, (ys + 0.5) * height / rgba.shape[0] - 0.5, chroma


def read_painted(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A hints image -> its (H, W, 4) uint8 RGBA pixels and the (H, W) bool mask of those that are hints: its opaque
    pixels, or in an image without transparency (the photo with strokes painted on it, saved flat), its coloured ones.
    BadInputError names the file and the reason."""
    try:
        with Image.open(path) as im:
            _check_colour_mode(path, im.mode)
            transparent = "A" in im.getbands() or "transparency" in im.info
            rgba = np.asarray(im.convert("RGBA"))
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise BadInputError(f"{path}: cannot read the hints image ({e})") from None
    if transparent:
        painted = rgba[..., 3] >= OPAQUE
        if not painted.any() and rgba[..., 3].any():
            log.warning("%s: its strokes are all fainter than %d %% opacity, so none is read as a hint", path,
                        round(100 * OPAQUE / 255))
    else:
        painted = np.hypot(*chroma_of(rgba[..., :3].astype(np.float64) / 255).transpose(2, 0, 1)) > STROKE_CHROMA
    return rgba, painted


def _check_colour_mode(path: Path, mode: str) -> None:
    if mode not in COLOUR_MODES:
        raise BadInputError(f"{path}: a hints image holds colours, and this one is {mode} (gray or 16-bit); "
                            "paint the colours in RGB or RGBA")


def hint_field(hint_map: np.ndarray, luma: np.ndarray, wide: bool = False) -> np.ndarray:
    """(3, S, S) `hint_map` -> the hints spread over their regions by an edge-aware smoothing (`_spread`): the spread
    chroma times its confidence, and the confidence (1 at a hint, falling to 0 far from every hint or past an edge);
    with `wide`, three more channels holding the same spread at WIDE_SIGMA and WIDE_LUMA_SIGMA.

    What a model built with `hints_spread` sees instead of the points: from a handful of points a fine-tuned
    network learns little in a few thousand steps (docs/experiments/2026-11-30-models-v3-to-v7.md), while a field covering the hinted regions
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


def _grid_index(coord: np.ndarray, extent: int, cells: int) -> np.ndarray:
    """Photo pixel coordinates -> the grid pixel each falls in (the rule `PointHint.fraction` uses)."""
    return np.clip(((coord + 0.5) / extent * cells).astype(np.int64), 0, cells - 1)


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
OBJECT_COLOURS = 8


def sample_object_hints(rgb: np.ndarray, n: int) -> Hints:
    """One hint in each of the `n` largest regions of one colour in (H, W, 3) uint8 photo `rgb`, at the region's
    most interior point, with the region's true mean colour: how a person hints (one click on the dress, one on
    the lawn), for `colorize eval --object-hints N`. Regions: CIELAB k-means into OBJECT_COLOURS colours, split
    into connected parts (OpenCV; deterministic)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, OBJECT_SEGMENT_PX / max(h, w))
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    cv2.setRNGSeed(0)
    k = min(OBJECT_COLOURS, len(lab))
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
