"""Contact sheets: grids of images with captions, for before/after views and training progress."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

_CAPTION_PX = 14
_PAD_PX = 4


def _fit(img: np.ndarray, cell_px: int) -> Image.Image:
    im = Image.fromarray(img).convert("RGB")
    scale = cell_px / max(im.size)  # up or down: small training crops should still be visible
    return im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)


def thumbnail(img: np.ndarray, px: int = 384) -> np.ndarray:
    """A copy of `img` no larger than `px` on its longer side, kept for a contact sheet made later."""
    im = Image.fromarray(img)
    im.thumbnail((px, px))
    return np.asarray(im)


def contact_sheet(
    rows: Sequence[Sequence[np.ndarray]],
    col_labels: Sequence[str] = (),
    row_labels: Sequence[str] = (),
    cell_px: int = 256,
) -> np.ndarray:
    """Grid of images (each fitted into a `cell_px` square) with optional column/row captions -> (H, W, 3) uint8."""
    n_cols = max(len(r) for r in rows)
    label_w = 0 if not row_labels else 8 * max(len(s) for s in row_labels) + _PAD_PX
    top = _CAPTION_PX + _PAD_PX if col_labels else 0
    width = label_w + n_cols * (cell_px + _PAD_PX) + _PAD_PX
    height = top + len(rows) * (cell_px + _PAD_PX) + _PAD_PX
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(col_labels):
        draw.text((label_w + _PAD_PX + c * (cell_px + _PAD_PX), 2), label, fill=(0, 0, 0))
    for r, row in enumerate(rows):
        y = top + _PAD_PX + r * (cell_px + _PAD_PX)
        if r < len(row_labels):
            draw.text((2, y + cell_px // 2), row_labels[r], fill=(0, 0, 0))
        for c, img in enumerate(row):
            cell = _fit(img, cell_px)
            x = label_w + _PAD_PX + c * (cell_px + _PAD_PX)
            sheet.paste(cell, (x + (cell_px - cell.width) // 2, y + (cell_px - cell.height) // 2))
    return np.asarray(sheet)
