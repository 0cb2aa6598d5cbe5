"""A photo's hints file (`NAME.hints.png`) as the page reads and writes it: the user's work, never flattened.

The page shows a hints file's clicks as markers it can move and delete, and everything else painted in it (strokes)
as an overlay. What it writes reads back, through `Hints(image=...)`, as the same strokes plus the clicks, so
`colorize photos` colours the photo as the page did; a PNG text chunk records which pixels are clicks and what lay
under each, so a click on a stroke, or two clicks side by side, come back as clicks and leave the stroke as it was.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, PngImagePlugin

# The text chunk of a hints file the page wrote: its clicks, as JSON (`_Click` records).
CLICKS_CHUNK = "colorize-clicks"


@dataclass(frozen=True)
class Dot:
    """One click of the page: a pixel of the photo and its colour."""

    x: int
    y: int
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class _Click:
    """A click as the hints file records it: where in the photo, which pixel of the file, its colour, and the
    pixel it painted over (restored when the click is moved or deleted)."""

    x: int
    y: int
    row: int
    col: int
    rgb: tuple[int, int, int]
    under: tuple[int, int, int, int]


def encode_hints(layer: np.ndarray | None, dots: list[Dot], height: int, width: int) -> bytes:
    """The hints file of a `width` x `height` photo: (h, w, 4) uint8 `layer` of strokes (None: none, the photo's
    size) with `dots` painted in, opaque, each at the pixel its photo pixel falls in (the rule `Hints.rasterise`
    reads it by), and the clicks recorded in a text chunk."""
    out = np.zeros((height, width, 4), np.uint8) if layer is None else layer.copy()
    rows, cols = out.shape[:2]
    clicks = []
    for d in dots:
        row, col = min(rows - 1, int((d.y + 0.5) * rows / height)), min(cols - 1, int((d.x + 0.5) * cols / width))
        under = next((c.under for c in clicks if (c.row, c.col) == (row, col)), tuple(int(v) for v in out[row, col]))
        clicks.append(_Click(d.x, d.y, row, col, tuple(d.rgb), under))
        out[row, col] = (*d.rgb, 255)
    info = PngImagePlugin.PngInfo()
    info.add_text(CLICKS_CHUNK, json.dumps([asdict(c) for c in clicks]))
    buf = io.BytesIO()
    Image.fromarray(out, "RGBA").save(buf, format="PNG", pnginfo=info, compress_level=6)
    return buf.getvalue()


def as_layer(rgba: np.ndarray, painted: np.ndarray) -> np.ndarray:
    """A hints image's pixels as a transparent layer holding the same hints: kept as they are when it has
    transparency (soft brush edges included); a flat one (strokes painted on the photo) keeps its painted pixels,
    opaque, and the rest transparent. `painted` is `read_painted`'s mask."""
    if (rgba[..., 3] < 255).any():
        return rgba
    return np.dstack([rgba[..., :3], np.where(painted, 255, 0).astype(np.uint8)])


def split_dots(path: Path, rgba: np.ndarray, painted: np.ndarray, height: int, width: int) -> tuple[list[Dot], np.ndarray]:
    """A hints file of a `width` x `height` photo -> the clicks it holds and the rest as a layer of strokes
    (`as_layer`). The clicks the page recorded in it, where each pixel still holds its click's colour (a click
    painted over in another program is a stroke now); in a file without that record, opaque pixels with nothing
    painted around them, in a file with transparency and of the photo's own size."""
    layer = as_layer(rgba, painted)
    recorded = _recorded_clicks(path)
    if recorded is not None:
        strokes, dots = layer.copy(), []
        for c in reversed(recorded):  # the last click painted over the others at its pixel: undone first
            inside = 0 <= c.row < layer.shape[0] and 0 <= c.col < layer.shape[1] and c.x < width and c.y < height
            if inside and tuple(int(v) for v in layer[c.row, c.col]) == (*c.rgb, 255):
                strokes[c.row, c.col] = c.under
                dots.append(Dot(c.x, c.y, c.rgb))
        return dots[::-1], strokes
    if layer.shape[:2] != (height, width) or not (rgba[..., 3] < 255).any():
        return [], layer
    inked = (layer[..., 3] > 0).astype(np.uint8)
    around = cv2.filter2D(inked, -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT)
    ys, xs = np.nonzero((layer[..., 3] == 255) & (around == 1))
    dots = [Dot(int(x), int(y), tuple(int(c) for c in layer[y, x, :3])) for y, x in zip(ys, xs)]
    strokes = layer.copy()
    strokes[ys, xs] = 0
    return dots, strokes


def _recorded_clicks(path: Path) -> list[_Click] | None:
    """The clicks a hints file records (`encode_hints`), or None where it records none or the record is damaged."""
    try:
        with Image.open(path) as im:
            text = getattr(im, "text", {}).get(CLICKS_CHUNK)
        if text is None:
            return None
        clicks = [_Click(int(c["x"]), int(c["y"]), int(c["row"]), int(c["col"]), tuple(int(v) for v in c["rgb"]),
                         tuple(int(v) for v in c["under"])) for c in json.loads(text)]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(len(c.rgb) != 3 or len(c.under) != 4 for c in clicks):
        return None  # damaged: the file is read as strokes alone
    return clicks


def overlay(rgba: np.ndarray, painted: np.ndarray) -> Image.Image:
    """What the page shows of a hints file over the photo: its hints opaque, everything else transparent."""
    return Image.fromarray(np.dstack([rgba[..., :3], np.where(painted, 255, 0).astype(np.uint8)]), "RGBA")

