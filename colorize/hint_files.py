"""A photo's hints file (`NAME.hints.png`) as the page reads and writes it: the user's work, never flattened.

The page shows a painted hints file as an overlay and adds its clicks to it; what it writes reads back, through
`Hints(image=...)`, as the same strokes plus the clicks, so `colorize photos` colours the photo as the page did.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Dot:
    """One click of the page: a pixel of the photo and its colour."""

    x: int
    y: int
    rgb: tuple[int, int, int]


def dots_image(dots: list[Dot], height: int, width: int) -> Image.Image:
    """A transparent `width` x `height` hints image with one opaque pixel of its colour at each dot: read back by
    `Hints(image=...)` into the same hints as `--hint X,Y=COLOR` at those pixels."""
    return add_dots(np.zeros((height, width, 4), np.uint8), dots, height, width)


def add_dots(rgba: np.ndarray, dots: list[Dot], height: int, width: int) -> Image.Image:
    """(h, w, 4) uint8 hints-image pixels of a `width` x `height` photo with `dots` painted in, opaque: at the pixel
    each photo pixel falls in when the hints image has another size (the rule `Hints.rasterise` reads it by)."""
    out = rgba.copy()
    rows, cols = out.shape[:2]
    for d in dots:
        out[min(rows - 1, int((d.y + 0.5) * rows / height)), min(cols - 1, int((d.x + 0.5) * cols / width))] = (*d.rgb, 255)
    return Image.fromarray(out, "RGBA")


def as_layer(rgba: np.ndarray, painted: np.ndarray) -> np.ndarray:
    """A hints image's pixels as a transparent layer holding the same hints: kept as they are when it has
    transparency (soft brush edges included); a flat one (strokes painted on the photo) keeps its painted pixels,
    opaque, and the rest transparent. `painted` is `read_painted`'s mask."""
    if (rgba[..., 3] < 255).any():
        return rgba
    return np.dstack([rgba[..., :3], np.where(painted, 255, 0).astype(np.uint8)])


def split_dots(rgba: np.ndarray, painted: np.ndarray, height: int, width: int) -> tuple[list[Dot], np.ndarray]:
    """A hints file of a `width` x `height` photo -> the clicks it holds (opaque pixels with nothing painted around
    them, as `dots_image` writes them) and the rest as a layer of strokes (`as_layer`). Only a file with transparency
    and of the photo's own size holds clicks: in any other everything is strokes."""
    layer = as_layer(rgba, painted)
    if layer.shape[:2] != (height, width) or not (rgba[..., 3] < 255).any():
        return [], layer
    inked = (layer[..., 3] > 0).astype(np.uint8)
    around = cv2.filter2D(inked, -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT)
    ys, xs = np.nonzero((layer[..., 3] == 255) & (around == 1))
    dots = [Dot(int(x), int(y), tuple(int(c) for c in layer[y, x, :3])) for y, x in zip(ys, xs)]
    strokes = layer.copy()
    strokes[ys, xs] = 0
    return dots, strokes


def overlay(rgba: np.ndarray, painted: np.ndarray) -> Image.Image:
    """What the page shows of a hints file over the photo: its hints opaque, everything else transparent."""
    return Image.fromarray(np.dstack([rgba[..., :3], np.where(painted, 255, 0).astype(np.uint8)]), "RGBA")

