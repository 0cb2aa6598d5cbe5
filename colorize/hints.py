"""The user's colour hints ("her dress was blue"): parsed from the command line (`--hint X,Y=COLOR`) or read from a
hints image painted over the photo, checked against the photo, and laid on a grid for the solve that spreads them
(`colorize.hint_solver`). Only chroma is hinted: the photo keeps its own luminance, so "#2050c0" on a dark coat
means a dark blue coat.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image, ImageColor, UnidentifiedImageError

from colorize.color.ycbcr import chroma_of
from colorize.errors import BadInputError, ColorizeError

if TYPE_CHECKING:
    from colorize.reference import Reference

log = logging.getLogger(__name__)

# A hints image may differ from its photo's aspect ratio by this much (rounding when one was resized).
ASPECT_TOLERANCE = 0.02
# Pixels of a hints image at least this opaque (10 %) are hints, at full strength: a soft brush's faint edge still
# counts. In one without transparency (the photo with strokes painted on it), pixels whose chroma (BT.601 Cb, Cr in
# 0..1 units) is at least this far from gray: the gray photo's own pixels, JPEG noise included, stay well below it.
OPAQUE = 26
STROKE_CHROMA = 0.05
COLOR_MODES = ("RGB", "RGBA", "P", "PA", "LA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
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
    """A photo's hints: points from the command line and/or a hints image (its opaque pixels), and a reference
    photo whose matches are hints too (`colorize.reference`)."""

    points: tuple[PointHint, ...] = ()
    image: Path | None = None
    reference: Reference | None = None

    def check(self, height: int, width: int) -> None:
        """Raise (naming the bad hint) unless every hint fits a `width` x `height` photo; reads no pixels."""
        for p in self.points:
            p.fraction(height, width)
        if self.image is not None:
            try:
                with Image.open(self.image) as im:
                    self._check_shape(im.size, height, width)
                    _check_color_mode(self.image, im.mode)
            except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
                raise BadInputError(f"{self.image}: cannot read the hints image ({e})") from None

    def _check_shape(self, size: tuple[int, int], height: int, width: int) -> None:
        w, h = size
        if abs((w / h) / (width / height) - 1) > ASPECT_TOLERANCE:
            raise BadInputError(f"{self.image}: hints image is {w}x{h}, not the shape of its {width}x{height} photo")

    def rasterise(self, gray: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The hints of the photo whose (H, W) uint8 luminance is `gray`, on a grid of `shape` (rows, cols): each
        hinted photo pixel (a point, or a painted pixel of the hints image) marks the grid pixel it falls in, or of
        the 3x3 around it the one whose luminance is nearest its own (a hint on an object's edge, where the grid
        pixel holds a blend of both sides, joins the object it was put on), with the mean chroma of those that
        landed there. Returns (rows, cols, 2) float32 BT.601 CbCr and the (rows, cols) bool mask."""
        height, width = gray.shape
        rows, cols = shape
        xs, ys, chroma = (np.zeros(0), np.zeros(0), np.zeros((0, 2))) if self.image is None else self._painted(height, width)
        if self.points:
            at = np.array([p.fraction(height, width) for p in self.points]) * (width, height) - 0.5  # pixel coordinates
            xs, ys = np.concatenate([xs, at[:, 0]]), np.concatenate([ys, at[:, 1]])
            chroma = np.concatenate([chroma, chroma_of(np.array([p.rgb for p in self.points], np.float64) / 255)])
        cy, cx = _grid_index(ys, height, rows), _grid_index(xs, width, cols)
        own = gray[_pixel_index(ys, height), _pixel_index(xs, width)].astype(np.float32)
        cy, cx = _nearest_in_luminance(cv2.resize(gray, (cols, rows), interpolation=cv2.INTER_AREA), cy, cx, own)
        chroma_sum = np.zeros((rows, cols, 2), np.float64)
        count = np.zeros((rows, cols), np.float64)
        np.add.at(chroma_sum, (cy, cx), chroma)
        np.add.at(count, (cy, cx), 1.0)
        hinted = count > 0
        return np.where(hinted[..., None], chroma_sum / np.maximum(count, 1)[..., None], 0).astype(np.float32), hinted

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
            _check_color_mode(path, im.mode)
            transparent = "A" in im.getbands() or "transparency" in im.info
            rgba = np.asarray(im.convert("RGBA"))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        raise BadInputError(f"{path}: cannot read the hints image ({e})") from None
    if transparent:
        painted = rgba[..., 3] >= OPAQUE
        if not painted.any() and rgba[..., 3].any():
            log.warning("%s: its strokes are all fainter than %d %% opacity, so none is read as a hint", path,
                        round(100 * OPAQUE / 255))
    else:
        painted = np.hypot(*chroma_of(rgba[..., :3].astype(np.float64) / 255).transpose(2, 0, 1)) > STROKE_CHROMA
    return rgba, painted


def _check_color_mode(path: Path, mode: str) -> None:
    if mode not in COLOR_MODES:
        raise BadInputError(f"{path}: a hints image holds colours, and this one is {mode} (gray or 16-bit); "
                            "paint the colours in RGB or RGBA")


def _grid_index(coord: np.ndarray, extent: int, cells: int) -> np.ndarray:
    """Photo pixel coordinates -> the grid pixel each falls in (the rule `PointHint.fraction` uses)."""
    return np.clip(((coord + 0.5) / extent * cells).astype(np.int64), 0, cells - 1)


def _nearest_in_luminance(grid: np.ndarray, cy: np.ndarray, cx: np.ndarray, own: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Each (cy, cx) of the (rows, cols) `grid` moved to the pixel of its 3x3 neighbourhood whose luminance is
    nearest `own` (ties: it stays)."""
    rows, cols = grid.shape
    shifts = np.array([(0, 0)] + [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)])
    to_y = np.clip(cy[:, None] + shifts[:, 0], 0, rows - 1)  # (n, 9)
    to_x = np.clip(cx[:, None] + shifts[:, 1], 0, cols - 1)
    best = np.argmin(np.abs(grid[to_y, to_x].astype(np.float32) - own[:, None]), axis=1)
    pick = np.arange(len(cy))
    return to_y[pick, best], to_x[pick, best]


def _pixel_index(coord: np.ndarray, extent: int) -> np.ndarray:
    """Photo pixel coordinates (possibly scaled, fractional) -> the photo pixel each falls in."""
    return np.clip(np.rint(coord).astype(np.int64), 0, extent - 1)
