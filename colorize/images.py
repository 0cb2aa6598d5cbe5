"""Photo files <-> arrays: decoding any mode with EXIF orientation and a size cap, encoding with metadata kept."""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorize.atomic import atomic_write
from colorize.errors import BadInputError

log = logging.getLogger(__name__)

DEFAULT_MAX_MEGAPIXELS = 150.0
# Files read as photos by suffix where content sniffing would cost too much (training corpora, frame folders).
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
# Output suffix -> Pillow format. "auto" keeps the input's suffix when it is one of these.
WRITABLE = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP", ".bmp": "BMP"}
_ALPHA_FORMATS = {"PNG", "TIFF", "WEBP"}
# zlib level of PNG outputs: at 12 MP level 3 encodes in 0.77 s CPU to 6.9 MB, Pillow's default 6 in 1.97 s to
# 6.2 MB, level 1 in 0.53 s to 7.8 MB (docs/benchmarks.md).
PNG_COMPRESS_LEVEL = 3
_METADATA_FORMATS = {"JPEG", "PNG", "TIFF", "WEBP"}


@dataclass
class Photo:
    """A decoded photo reduced to what colorizing needs, plus what must survive into the output."""

    gray: np.ndarray  # (H, W) uint8 luminance, upright
    alpha: np.ndarray | None  # (H, W) uint8, or None
    icc_profile: bytes | None  # only an RGB profile: it would mislabel the output otherwise
    exif: bytes | None  # orientation already applied and reset


def _to_8bit(arr: np.ndarray) -> np.ndarray:
    # 16-bit grayscale (Pillow modes I;16*, and I for 16-bit PNGs) spans 0..65535.
    return np.clip(np.round(arr.astype(np.float32) / 257.0), 0, 255).astype(np.uint8)


def _over_cap(path: Path, size: str, max_megapixels: float) -> BadInputError:
    return BadInputError(f"{path}: {size}over the {max_megapixels:.0f} MP cap "
                         "(raise it with --max-megapixels if you trust this file)")


def read_photo(path: Path, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> Photo:
    """Decode `path` to luminance (+alpha, metadata); BadInputError names the file and the reason."""
    path = Path(path)
    # Pillow refuses images over twice its limit before we see their size; set to our cap, it refuses only those far
    # past it, and `_over_cap` words both refusals alike.
    Image.MAX_IMAGE_PIXELS = int(max_megapixels * 1e6)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own cap below decides
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_megapixels * 1e6:
                    raise _over_cap(path, f"{w}x{h} is {w * h / 1e6:.0f} MP, ", max_megapixels)
                frames = getattr(im, "n_frames", 1)
                if frames > 1:
                    log.warning("%s: has %d frames (animation or pages); only the first is colorized", path, frames)
                im.load()
                im = ImageOps.exif_transpose(im)
                return _decode(im, path)
    except BadInputError:
        raise
    except FileNotFoundError:
        reason = "broken symbolic link" if path.is_symlink() else "file not found"
        raise BadInputError(f"{path}: {reason}") from None
    except PermissionError:
        raise BadInputError(f"{path}: cannot read it (permission denied)") from None
    except IsADirectoryError:
        raise BadInputError(f"{path}: is a folder, not a photo") from None
    except UnidentifiedImageError:
        empty = path.is_file() and path.stat().st_size == 0
        raise BadInputError(f"{path}: {'empty file (0 bytes)' if empty else 'not an image (format not recognised)'}") from None
    except Image.DecompressionBombError as e:
        # Pillow refuses past twice its limit before the size can be read: the same words as our cap's, from its count.
        pixels = re.search(r"\((\d+) pixels\)", str(e))
        raise _over_cap(path, f"{int(pixels.group(1)) / 1e6:.0f} MP, " if pixels else "", max_megapixels) from None
    except (OSError, ValueError, SyntaxError) as e:
        raise BadInputError(f"{path}: corrupt or truncated image ({e})") from None


def _float_to_8bit(arr: np.ndarray, path: Path) -> np.ndarray:
    # Float images (32-bit TIFF, mode F) come scaled 0..1 or 0..255; anything else has no agreed meaning.
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if lo >= 0 and hi <= 1:
        arr = arr * 255.0
    elif lo < 0 or hi > 255:
        raise BadInputError(f"{path}: floating-point image with values {lo:g}..{hi:g}, neither 0..1 nor 0..255; "
                            "convert it to 8 or 16 bits")
    return np.clip(np.round(np.nan_to_num(arr)), 0, 255).astype(np.uint8)


def _decode(im: Image.Image, path: Path) -> Photo:
    icc = im.info.get("icc_profile")
    if icc and icc[16:20] != b"RGB ":
        icc = None
    exif = im.getexif()
    exif_bytes = exif.tobytes() if len(exif) else None
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    alpha = np.asarray(im.getchannel("A")) if "A" in im.getbands() else None
    if im.mode == "F":
        gray = _float_to_8bit(np.asarray(im), path)
    elif im.mode.startswith("I"):
        gray = _to_8bit(np.asarray(im))
    elif im.mode == "L":
        gray = np.asarray(im)
    else:
        gray = np.asarray(im.convert("RGB").convert("L"))
    return Photo(gray=np.ascontiguousarray(gray), alpha=alpha, icc_profile=icc, exif=exif_bytes)


def has_alpha(path: Path) -> bool:
    """Whether the photo at `path` has transparency, from its header alone (False if unreadable)."""
    try:
        with Image.open(path) as im:
            return "A" in im.getbands() or "transparency" in im.info
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False


def output_suffix(input_path: Path, ext: str) -> str:
    """Suffix for the output of `input_path` under `--ext auto|jpg|png`: PNG when the chosen format cannot hold the
    photo's transparency (known from its header, so a rerun finds the output it made)."""
    suffix = input_path.suffix.lower() if ext == "auto" else f".{ext}"
    if suffix not in WRITABLE:
        return ".png"
    if WRITABLE[suffix] not in _ALPHA_FORMATS and has_alpha(input_path):
        return ".png"
    return suffix


def write_photo(path: Path, rgb: np.ndarray, photo: Photo, jpeg_quality: int = 98) -> Path:
    """Atomically write `rgb` (H, W, 3) uint8 with the photo's alpha and metadata; returns the path written.

    A photo with alpha is written as PNG when the requested format cannot hold alpha.
    """
    path = Path(path)
    fmt = WRITABLE.get(path.suffix.lower(), "PNG")
    img = Image.fromarray(rgb, "RGB")
    if photo.alpha is not None:
        img.putalpha(Image.fromarray(photo.alpha, "L"))
        if fmt not in _ALPHA_FORMATS:
            log.warning("%s: %s cannot hold transparency; writing PNG instead", path, fmt)
            path, fmt = path.with_suffix(".png"), "PNG"
    params: dict[str, object] = {}
    if fmt in _METADATA_FORMATS:
        if photo.icc_profile:
            params["icc_profile"] = photo.icc_profile
        if photo.exif:
            params["exif"] = photo.exif
    if fmt == "JPEG":
        params.update(quality=jpeg_quality, subsampling=0)
    elif fmt == "PNG":
        params.update(compress_level=PNG_COMPRESS_LEVEL)
    elif fmt == "WEBP":
        params.update(quality=jpeg_quality)
    atomic_write(path, lambda tmp: img.save(tmp, format=fmt, **params))
    return path


def load_rgb(source: Path | IO[bytes], max_short_side_px: int, label: str | None = None) -> np.ndarray | None:
    """`decode_rgb`, or None if unreadable (said in the log, naming `label` or the file)."""
    try:
        return _upright_rgb(source, max_short_side_px)
    except _UNREADABLE as e:
        log.warning("%s: skipped, unreadable (%s)", label or source, e)
        return None


def decode_rgb(source: Path | IO[bytes], max_short_side_px: int, label: str | None = None,
               max_megapixels: float = DEFAULT_MAX_MEGAPIXELS, max_long_side_px: int | None = None) -> np.ndarray:
    """Upright RGB (H, W, 3) uint8, downscaled so its short side is at most `max_short_side_px` (and its long side
    at most `max_long_side_px`); BadInputError names `label` or the file when unreadable or over `max_megapixels`
    (checked before the pixels are decoded)."""
    name = label or source
    Image.MAX_IMAGE_PIXELS = int(max_megapixels * 1e6)  # as `read_photo`: Pillow's own refusal past twice the cap
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own cap below decides
            return _upright_rgb(source, max_short_side_px, max_long_side_px, max_megapixels, name)
    except BadInputError:
        raise
    except Image.DecompressionBombError:
        raise _over_cap(name, "", max_megapixels) from None
    except _UNREADABLE as e:
        reason = "not an image (format not recognised)" if isinstance(e, UnidentifiedImageError) else str(e)
        raise BadInputError(f"{name}: unreadable ({reason})") from None


_UNREADABLE = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)


def _upright_rgb(source: Path | IO[bytes], max_short_side_px: int, max_long_side_px: int | None = None,
                 max_megapixels: float | None = None, name: object = None) -> np.ndarray:
    """A JPEG is decoded at the smallest of 1/2, 1/4, 1/8 scale that still covers the target (Pillow's `draft`),
    then resized exactly: several times faster on large photos."""
    with Image.open(source) as im:
        w, h = im.size
        if max_megapixels is not None and w * h > max_megapixels * 1e6:
            raise _over_cap(name, f"{w}x{h} is {w * h / 1e6:.0f} MP, ", max_megapixels)
        bound = lambda: min(max_short_side_px / min(im.size), (max_long_side_px or max(im.size)) / max(im.size))  # noqa: E731
        scale = bound()
        if scale < 1 and im.format == "JPEG":
            im.draft("RGB", (math.ceil(im.width * scale), math.ceil(im.height * scale)))
            scale = bound()
        im = ImageOps.exif_transpose(im).convert("RGB")
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        return np.asarray(im)
