"""Plain helpers the test files share: test photos and clips made on the fly, what a user sees in a folder, and
interruptions at a known training step. Fixtures stay in conftest.py."""

from __future__ import annotations

import struct
import zlib
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np
from PIL import Image

from colorize.train.common import StepLog

FPS = Fraction(24000, 1001)  # NTSC film rate: a rational rate must survive exactly


def interrupt() -> None:
    """Ctrl-C, as a training loop sees it."""
    raise KeyboardInterrupt


@contextmanager
def at_step(step: int, action: Callable[[], None]) -> Iterator[None]:
    """Within the block, every training stage calls `action` just after logging step `step`: an interruption at a
    known step."""
    real_call = StepLog.__call__

    def hooked(self: StepLog, n: int, **values: float) -> None:
        real_call(self, n, **values)
        if n == step:
            action()

    StepLog.__call__ = hooked  # type: ignore[method-assign]
    try:
        yield
    finally:
        StepLog.__call__ = real_call  # type: ignore[method-assign]


def visible(folder: Path) -> list[str]:
    """The names in `folder` a user sees: not the hidden records of what each output was made from."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def luma(path: Path) -> np.ndarray:
    """A picture file's luminance as Pillow reads it, (H, W) int."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L")).astype(int)


def photo_array(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth colour test picture (gradients plus a few blobs), (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xx / w, yy / h, 1 - xx / w], -1) * 200 + rng.normal(0, 10, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def write_photo_file(path: Path, mode: str = "RGB", h: int = 48, w: int = 64, seed: int = 0, **save: object) -> Path:
    """Save a test photo in the given Pillow mode."""
    img = Image.fromarray(photo_array(h, w, seed))
    if mode == "I;16":
        arr = np.asarray(img.convert("L")).astype(np.uint16) * 257
        img = Image.fromarray(arr)
    elif mode != "RGB":
        img = img.convert(mode)
    img.save(path, **save)
    return path


def color_folder(path: Path, n: int = 2) -> Path:
    """A new folder of `n` small colour photos."""
    path.mkdir()
    for i in range(n):
        write_photo_file(path / f"c{i}.png", seed=i)
    return path


def scene(seed: int, h: int = 96, w: int = 128) -> np.ndarray:
    """Sky over grass with a warm blob: a photo-like layout whose colours follow from structure."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    horizon = int(h * rng.uniform(0.3, 0.7))
    img[:horizon] = (90, 150, 230)
    img[horizon:] = (60, 160, 50)
    cy, cx, r = rng.integers(10, h - 10), rng.integers(10, w - 10), rng.integers(6, 16)
    yy, xx = np.mgrid[0:h, 0:w]
    img[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = (220, 120, 60)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def huge_png_header(path: Path, w: int, h: int) -> Path:
    """A PNG that declares w x h pixels but holds almost no data: Pillow reads its size without decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def make_clip(path: Path, n: int = 12, w: int = 64, h: int = 48, audio: bool = True, noise: float = 0.0, moving: bool = True) -> Path:
    """A clip of a (moving or static) picture, optionally with per-frame noise and a 440 Hz tone."""
    rng = np.random.default_rng(0)
    base = np.asarray(Image.fromarray(photo_array(h, w + 16)).convert("L").convert("RGB"))
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height = w, h
        vs.pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
        vs.options = {"crf": "10"}
        a = out.add_stream("aac", rate=48000) if audio else None
        for i in range(n):
            shift = i if moving else 0
            img = base[:, shift : shift + w].astype(np.float32) + rng.normal(0, noise, (h, w, 1))
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format="rgb24")
            for p in vs.encode(frame):
                out.mux(p)
        if a is not None:
            total = int(48000 * n / FPS)
            t = np.arange(total) / 48000
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = tone[start : start + 1024][None]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
                af.sample_rate, af.pts = 48000, start
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return path



def painted(gray: np.ndarray) -> np.ndarray:
    """A gray photo given colours that change across it (a red-to-blue sweep and a yellow-green band), so a colour
    taken from it is right only where it was laid on the right place: a reference photo with a known truth."""
    from colorize.color.ycbcr import merge

    h, w = gray.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return merge(gray, np.stack([0.18 * np.cos(np.pi * x / w), 0.15 * np.sin(2 * np.pi * y / h)], -1))
