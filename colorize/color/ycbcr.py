"""YCbCr and CIELAB on NumPy arrays (OpenCV where it is faster), torch-free: the ONNX engine colorizes without
importing torch. BT.601 full-range (JPEG) YCbCr is the one colour space inference works in: the photo's own
luminance Y is kept, the model supplies Cb and Cr.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from colorize.edge_aware import lay_on

# ITU-R BT.601 full-range (JPEG) YCbCr, the luminance Pillow's "L" mode uses.
RGB_TO_Y = (0.299, 0.587, 0.114)
RGB_TO_CB = (-0.168736, -0.331264, 0.5)
RGB_TO_CR = (0.5, -0.418688, -0.081312)
# RGB = Y + offsets; each row is (Cb, Cr) -> one channel's offset, and each has zero luminance.
CHROMA_TO_RGB = ((0.0, 1.402), (-0.344136, -0.714136), (1.772, 0.0))

# Named hue sectors of CIELAB (hue angle of a*b*, degrees, [start, end)), for colour coverage: which colours a model
# paints and which it never does. Pixels below NEUTRAL_CHROMA (C*ab) are neutral, whatever their hue. The borders
# put sRGB's primaries and their neighbours where a person would: red 40° and orange 73° (warm), yellow 100°, olive
# 115° and green 136° (green), cyan 196° and sky 236° (blue), blue 306°, purple 328°.
HUE_SECTORS = (("warm", -10.0, 75.0), ("yellow", 75.0, 105.0), ("green", 105.0, 190.0), ("blue", 190.0, 310.0),
               ("purple", 310.0, 350.0))
NEUTRAL_CHROMA = 10.0
SECTOR_NAMES = ("neutral", *(name for name, _, _ in HUE_SECTORS))

_MERGE_STRIP_PX = 1 << 18  # pixels per strip of the merge: its temporaries stay in cache


def chroma_of(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB in [0, 1] -> (..., 2) Cb, Cr centred on 0."""
    return rgb @ np.asarray((RGB_TO_CB, RGB_TO_CR), rgb.dtype).T


def to_rgb(luma: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """(...) luminance and (..., 2) Cb, Cr, in [0, 1] and centred on 0 -> (..., 3) RGB in [0, 1], clipped."""
    return np.clip(luma[..., None] + chroma @ np.asarray(CHROMA_TO_RGB, chroma.dtype).T, 0.0, 1.0)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 BT.601 luminance, as Pillow's "L" mode computes it."""
    return np.asarray(Image.fromarray(rgb).convert("L"))


def lab_ab(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W, 2) float32 CIELAB a*, b* (D65)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 1:]


def hue_sector(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 index into SECTOR_NAMES (0 neutral, then HUE_SECTORS in order)."""
    ab = lab_ab(rgb)
    hue = np.degrees(np.arctan2(ab[..., 1], ab[..., 0])) % 360.0
    hue = np.where(hue >= 350.0, hue - 360.0, hue)  # the warm sector wraps through 0
    out = np.zeros(hue.shape, np.uint8)
    for k, (_, start, end) in enumerate(HUE_SECTORS, start=1):
        out[(hue >= start) & (hue < end)] = k
    out[np.hypot(ab[..., 0], ab[..., 1]) < NEUTRAL_CHROMA] = 0
    return out


def merge(gray: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """(H, W) uint8 luminance + (h, w, 2) float32 CbCr of any size -> (H, W, 3) uint8 RGB with exactly that luminance.

    The chroma is laid on along the luminance's edges (`colorize.edge_aware.lay_on`). Where a colour would leave the
    RGB cube its chroma is scaled down instead of clipping the channels, which would change the luminance. Planar
    and in strips of rows: each channel's offset is its own (rows, W) array, so the smallest room over the three
    channels is two element-wise minimums (a reduction over an innermost axis of 3, which NumPy does not vectorise,
    made the merge 5x slower), and the merge's temporaries stay in cache.
    """
    h, w = gray.shape
    c_full = lay_on(chroma, gray)
    out = np.empty((h, w, 3), np.uint8)
    rows = max(1, _MERGE_STRIP_PX // w)
    (_, r_cr), (g_cb, g_cr), (b_cb, _) = (tuple(np.float32(v) for v in row) for row in CHROMA_TO_RGB)
    for r0 in range(0, h, rows):
        y = gray[r0 : r0 + rows].astype(np.float32)
        y *= np.float32(1 / 255)
        cb, cr = c_full[r0 : r0 + rows, :, 0], c_full[r0 : r0 + rows, :, 1]
        offsets = (r_cr * cr, g_cb * cb + g_cr * cr, b_cb * cb)  # R has no Cb term, B no Cr term
        up = 1.0 - y
        scale = np.ones_like(y)
        for offset in offsets:
            size = np.abs(offset)
            room = np.where(offset > 0, up, y)  # how far the channel may move in its direction
            np.minimum(scale, np.divide(room, size, out=np.ones_like(y), where=size > 1e-6), out=scale)
        np.clip(scale, 0.0, 1.0, out=scale)
        planes = []
        for offset in offsets:
            channel = y + scale * offset
            np.clip(channel, 0.0, 1.0, out=channel)
            channel *= 255.0
            planes.append(np.rint(channel).astype(np.uint8))
        out[r0 : r0 + rows] = cv2.merge(planes)
    return out
