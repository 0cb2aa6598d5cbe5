"""Colour from a reference photo ("colour it like this one"): where a colour photo shows the same scene, its colour
becomes hints for the edge-aware solve (`colorize.hint_solver`), each weighted by how sure the match is.

    reference: gray -> SIFT keypoints, of it and of its mirror image (once, for a folder or a film)
    photo:     gray -> SIFT keypoints -> matched (Lowe's ratio test) -> homographies by RANSAC, up to MODELS
               -> the reference's colour warped onto the photo's working grid by each
               -> kept where the warped reference's luminance agrees with the photo's (local correlation)

The match is geometric on purpose. Matching texture statistics between two different photos (a neighbour's
descriptor, or a soft attention over them) coloured photos of one source, but of other scenes, 64-83 % worse than
the model alone on the photos it was tried on (docs/experiments/2026-12-08-colour-from-a-reference.md): grass finds
grass, and also a gray wall of the same texture. A homography confirmed by many keypoints says the reference shows
this place; where no part of it is found, the photo keeps the model's colour and the log says so.

OpenCV finds, matches and fits; the agreement test and the way the matches become hints are written here.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import cv2
import numpy as np

from colorize.color.ycbcr import chroma_of, to_gray, to_rgb
from colorize.errors import BadInputError
from colorize.images import DEFAULT_MAX_MEGAPIXELS, decode_rgb

log = logging.getLogger(__name__)

# The reference is read with its short side at most this, and its long side at most REFERENCE_LONG_PX (its colour is
# used on a grid of ~128 px anyway; a panorama keeps enough height for its keypoints).
REFERENCE_PX = 1024
REFERENCE_LONG_PX = 2048
# Keypoints are found on copies with this long side: enough for a photo's structure, and ~0.1 s on two CPU cores.
FEATURE_PX = 768
MAX_KEYPOINTS = 4000
# Lowe's ratio test: a keypoint's best match must be clearly better than its second best.
RATIO = 0.75
# A homography is believed when this many matches agree with it, within RANSAC_SHARE of the photo's long side.
MIN_INLIERS = 15
RANSAC_SHARE = 0.01
# Up to this many planes or objects, each fitted to the matches the ones before left.
MODELS = 3
# Agreement of the warped reference with the photo, in 5x5 working-grid windows: a textured window's correlation
# counts from this up (to full at 1); flat windows (variance under FLAT_VARIANCE, luminance 0..1) agree where their
# mean luminances lie within about FLAT_STEP. A cell agreeing at least MIN_AGREEMENT is a hint; the others are not
# (the solve spreads a hint's colour at full strength over its object, whatever its weight).
MIN_AGREEMENT = 0.5
MIN_CORRELATION = 0.5
FLAT_VARIANCE = 1e-4
FLAT_STEP = 0.05
AGREEMENT_WINDOW = (5, 5)
# A reference below this chroma (Cb, Cr; 0..0.5) at its 99th percentile has no colour to give.
MIN_REFERENCE_CHROMA = 0.02
# Where the page shows the matches as hints to move or delete: one per this many working-grid cells each way.
PAGE_HINT_STRIDE = 8

_SIFT = None


@dataclass(frozen=True)
class Matched:
    """A reference laid on a photo's working grid: (rows, cols, 2) CbCr and the (rows, cols) agreement in [0, 1]
    (0: nothing of the reference there), with the photo's (rows, cols) luminance in 0..1 there."""

    chroma: np.ndarray
    weight: np.ndarray
    luma: np.ndarray

    @property
    def hinted(self) -> np.ndarray:
        """The (rows, cols) cells sure enough to be hints."""
        return self.weight >= MIN_AGREEMENT

    def points(self, height: int, width: int, stride: int = PAGE_HINT_STRIDE) -> list[tuple[int, int, tuple[int, int, int]]]:
        """The confident matches as (x, y, rgb) places of a `width` x `height` photo, one per `stride` cells each
        way (what the page shows as hints), each in the colour the photo gets there."""
        rows, cols = self.weight.shape
        rgb = np.rint(to_rgb(self.luma, self.chroma) * 255).astype(int)
        return [(int((c + 0.5) * width / cols), int((r + 0.5) * height / rows), tuple(rgb[r, c].tolist()))
                for r in range(stride // 2, rows, stride) for c in range(stride // 2, cols, stride)
                if self.hinted[r, c]]


class Reference:
    """A colour photo to take colour from, its keypoints found once (for itself and for its mirror image: a
    reference taken from the other side of the scene, or a print flipped in the scanner)."""

    def __init__(self, rgb: np.ndarray, name: str, stamp: str = "") -> None:
        """(H, W, 3) uint8 RGB; `name` names it in messages; `stamp` says which file it was, for a rerun's record."""
        self.name, self.stamp = name, stamp or name
        self.gray = to_gray(rgb)
        self.chroma = chroma_of(rgb.astype(np.float32) * np.float32(1 / 255))
        if np.percentile(np.hypot(self.chroma[..., 0], self.chroma[..., 1]), 99) < MIN_REFERENCE_CHROMA:
            raise BadInputError(f"{name}: the reference photo is gray (no colour to take from it); use a colour photo")
        self.tried = self.found = 0  # pictures it was matched with, and found in
        self._last: tuple[tuple, Matched] | None = None  # the page re-renders one photo after every hint

    @functools.cached_property
    def views(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Its keypoints and descriptors, and its mirror image's in its own pixels (found when first matched)."""
        width = self.gray.shape[1]
        points, descriptors = _keypoints(self.gray)
        mirrored, mirrored_descriptors = _keypoints(np.ascontiguousarray(self.gray[:, ::-1]))
        mirrored[:, 0] = width - 1 - mirrored[:, 0]  # the mirror image's geometry flipped back
        return [(points, descriptors), (mirrored, mirrored_descriptors)]

    @classmethod
    def open(cls, path: Path, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> "Reference":
        """Read a reference photo; BadInputError names the file and the reason (missing, unreadable, over the
        megapixel cap, gray)."""
        if not path.is_file():
            raise BadInputError(f"{path}: {'is a folder, not a' if path.is_dir() else 'no such'} reference photo")
        rgb = read_reference(path, str(path), max_megapixels)
        st = path.stat()
        return cls(rgb, str(path), f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}")

    def match(self, gray: np.ndarray, shape: tuple[int, int]) -> Matched:
        """Where this reference shows the scene of the (H, W) uint8 `gray` photo, its colour on a grid of `shape`
        (rows, cols), with the confidence of each cell; all zero, said in the log, where nothing of it is found."""
        key = (gray.shape, shape, hashlib.blake2b(np.ascontiguousarray(gray), digest_size=16).digest())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        height, width = gray.shape
        rows, cols = shape
        grid = cv2.resize(gray, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
        to_grid = np.diag([cols / width, rows / height, 1.0])
        chroma, weight = np.zeros((rows, cols, 2), np.float32), np.zeros((rows, cols), np.float32)
        for homography in self._homographies(gray):
            warped_chroma, agreement = self._warped(to_grid @ homography, grid)
            better = agreement > weight
            weight = np.where(better, agreement, weight)
            chroma = np.where(better[..., None], warped_chroma, chroma)
        self.tried += 1
        self.found += bool((weight >= MIN_AGREEMENT).any())
        log.debug("%s: %.0f %% of a %dx%d picture matched", self.name, 100 * weight.mean(), width, height)
        self._last = (key, Matched(chroma, weight, grid))
        return self._last[1]

    def outcome(self, unit: str = "photo") -> str | None:
        """One line for the end of a run where it was not found in every picture (`unit`) it was matched with."""
        if self.found == self.tried:
            return None
        if self.tried == 1:
            return f"{self.name}: nothing of this reference was found in the {unit}; it keeps the model's colour"
        return f"{self.name}: found in {self.found} of {self.tried} {unit}s; the others keep the model's colour"

    def _homographies(self, gray: np.ndarray) -> list[np.ndarray]:
        """Homographies from the reference's pixels to the photo's, each confirmed by MIN_INLIERS matches."""
        points, descriptors = _keypoints(gray)
        if len(points) < MIN_INLIERS:
            return []
        matcher = cv2.BFMatcher(cv2.NORM_L2)
        found = []
        for ref_points, ref_descriptors in self.views:
            if len(ref_points) < MIN_INLIERS:
                continue
            pairs = [m for m, second in (p for p in matcher.knnMatch(descriptors, ref_descriptors, k=2) if len(p) == 2)
                     if m.distance < RATIO * second.distance]
            src = np.float32([ref_points[m.trainIdx] for m in pairs]).reshape(-1, 2)
            dst = np.float32([points[m.queryIdx] for m in pairs]).reshape(-1, 2)
            for _ in range(MODELS):
                if len(src) < MIN_INLIERS:
                    break
                homography, inliers = cv2.findHomography(src, dst, cv2.RANSAC, RANSAC_SHARE * max(gray.shape))
                if homography is None or inliers.sum() < MIN_INLIERS:
                    break
                found.append(homography)
                keep = ~inliers.ravel().astype(bool)
                src, dst = src[keep], dst[keep]
        return found

    def _warped(self, homography: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The reference's colour warped by `homography` (reference pixels -> grid cells) and its agreement with the
        photo's (rows, cols) luminance `grid` in [0, 1]: 0 outside the reference."""
        rows, cols = grid.shape
        # Warping samples; blurred first to the grid's scale (the homography's Jacobian at the reference's centre),
        # the reference's detail does not alias.
        sigma = 0.5 / max(_scale_at_centre(homography, self.gray.shape), 1e-6) - 0.5
        gray = self.gray.astype(np.float32) * np.float32(1 / 255)
        chroma = self.chroma
        if sigma > 0.3:
            gray, chroma = cv2.GaussianBlur(gray, (0, 0), sigma), cv2.GaussianBlur(chroma, (0, 0), sigma)
        warp = lambda a, flags=cv2.INTER_LINEAR, fill=0.0: cv2.warpPerspective(  # noqa: E731
            a, homography, (cols, rows), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
        seen = warp(np.ones(self.gray.shape, np.float32), cv2.INTER_NEAREST) > 0.5
        seen &= cv2.erode(seen.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # no border blend
        return warp(chroma), np.where(seen, _agreement(grid, warp(gray)), 0.0).astype(np.float32)

    def describe(self) -> str:
        """What a rerun's record holds of this reference."""
        return f"reference {self.stamp}"


def _scale_at_centre(homography: np.ndarray, shape: tuple[int, int]) -> float:
    """How many grid cells one reference pixel spans at the reference's centre: the square root of the determinant
    of the homography's Jacobian there."""
    x, y = shape[1] / 2, shape[0] / 2
    (a, b, c), (d, e, f), (g, h, i) = homography
    w = g * x + h * y + i
    u, v = (a * x + b * y + c) / w, (d * x + e * y + f) / w
    jacobian = np.array([[a - g * u, b - h * u], [d - g * v, e - h * v]]) / w
    return float(np.sqrt(abs(np.linalg.det(jacobian))))


def read_reference(source: Path | IO[bytes], label: str, max_megapixels: float = DEFAULT_MAX_MEGAPIXELS) -> np.ndarray:
    """A reference photo's RGB at most REFERENCE_PX on its short side and REFERENCE_LONG_PX on its long side;
    BadInputError names `label` where it is unreadable or over the megapixel cap (checked before it is decoded)."""
    return decode_rgb(source, REFERENCE_PX, label, max_megapixels=max_megapixels, max_long_side_px=REFERENCE_LONG_PX)


def _agreement(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How alike two (rows, cols) luminances in 0..1 are around each cell, in [0, 1]: their correlation in textured
    windows, the closeness of their means in flat ones."""
    k = AGREEMENT_WINDOW
    mean_a, mean_b = cv2.blur(a, k), cv2.blur(b, k)
    var_a, var_b = cv2.blur(a * a, k) - mean_a**2, cv2.blur(b * b, k) - mean_b**2
    correlation = (cv2.blur(a * b, k) - mean_a * mean_b) / np.sqrt(np.maximum(var_a * var_b, 1e-12))
    flat = (var_a < FLAT_VARIANCE) & (var_b < FLAT_VARIANCE)
    return np.where(flat, np.exp(-(((mean_a - mean_b) / FLAT_STEP) ** 2)),
                    np.clip((correlation - MIN_CORRELATION) / (1 - MIN_CORRELATION), 0.0, 1.0))


def _keypoints(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SIFT keypoints of an (H, W) uint8 luminance, found at FEATURE_PX on its long side: (n, 2) float32 (x, y) in
    its own pixels and (n, 128) float32 descriptors."""
    global _SIFT
    if _SIFT is None:
        _SIFT = cv2.SIFT_create(nfeatures=MAX_KEYPOINTS)
    scale = min(1.0, FEATURE_PX / max(gray.shape))
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    keypoints, descriptors = _SIFT.detectAndCompute(small, None)
    if descriptors is None:
        return np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32)
    return np.float32([k.pt for k in keypoints]).reshape(-1, 2) / scale, descriptors
