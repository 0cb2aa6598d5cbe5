"""Film hints: hints given on a keyframe colour its whole shot, carried along the optical flow.

    pass 1 (`prepare`): every frame at work size -> shots (cuts) -> each keyframe coloured with its hints by the
        edge-aware solve, as a photo is; where its hints changed the model's colour, that colour is carried
        backward to the start of its shot (the frames before it are kept at work size until it is reached)
    pass 2 (`apply`, frame by frame in order): the keyframe's colour carried forward to the end of its shot; each
        frame's colour is the model's, moved towards the carried colour as far as the carry is trusted; between two
        keyframes of a shot, the nearer weighs more

A carry follows where each pixel came from, composed step by step back to the keyframe, and samples the keyframe's
colour once (no blur builds up over a shot). How far it is trusted falls at every step where the warp does not
explain the new frame (occlusion, new content) or the flow disagrees with the flow back (forward-backward check),
and ends at a cut. Written by hand: no maintained library carries colour edits along a shot.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from colorize.errors import ColorizeError
from colorize.hints import HINTS_SUFFIX, Hints
from colorize.pipeline import Colorizer
from colorize.temporal import came_from, is_cut, work_size

log = logging.getLogger(__name__)

# At each step a carried pixel keeps its trust while the warp explains the new frame (the warped luminance's error,
# 0..1, well under LUMA_ERROR: exp(-(error / LUMA_ERROR)^4), flat for noise, gone past it), and loses it where the
# flow back misses it by more than FB_PX + FB_SHARE of its motion (work pixels).
LUMA_ERROR = 0.08
FB_PX, FB_SHARE = 0.75, 0.1
# Where a keyframe's hints changed the model's colour by at least this (CbCr), its colour is carried in full.
CHANGED_CHROMA = 0.03
_TIMESTAMP = re.compile(r"(?:(\d+):)?([0-5]?\d):([0-5]?\d(?:\.\d*)?)", re.ASCII)


def frame_number(text: str, fps: float) -> int:
    """A keyframe as the user names it: a zero-based frame number (`120`) or a time (`00:01:12.5`, `1:12`), taken
    at the film's average frame rate."""
    text = text.strip()
    if re.fullmatch(r"\d+", text, re.ASCII):
        return int(text)
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        raise ColorizeError(f"{text!r} is not a frame: give a frame number (0 is the first) or a time like 00:01:12.5")
    hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), float(m.group(3))
    return round((3600 * hours + 60 * minutes + seconds) * fps)


def numbered_keyframes(keyframes: Sequence[tuple[str, Hints]], fps: float) -> dict[int, Hints]:
    """(FRAME, hints) as the user gave them -> hints by frame number; two for one frame are an error naming both."""
    numbered: dict[int, Hints] = {}
    for spec, hints in keyframes:
        index = frame_number(spec, fps)
        if index in numbered:
            raise ColorizeError(f"{hints.image}: frame {index} ({spec}) has hints already ({numbered[index].image}); "
                                "give one hints image per frame")
        numbered[index] = hints
    return numbered


def frame_hints(folder: Path, frames: list[Path]) -> dict[int, Hints]:
    """The frames' own hints files, by frame number: `NAME.EXT.hints.png`, else `NAME.hints.png`, in any case. A
    hints file named after no frame is said in the log."""
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(HINTS_SUFFIX)}
    found: dict[int, Hints] = {}
    for i, frame in enumerate(frames):
        for name in (f"{frame.name}{HINTS_SUFFIX}".lower(), f"{frame.stem}{HINTS_SUFFIX}".lower()):
            if name in files:
                found[i] = Hints(image=files.pop(name))
                break
    for orphan in files.values():
        log.warning("%s: named as a frame's hints, but no frame of that name is beside it", orphan)
    return found


@dataclass
class _Carry:
    """One keyframe's colour on its way through a shot: where each pixel of the current frame is in the keyframe
    (x and y maps), and how far that is trusted."""

    keyframe: int
    map_x: np.ndarray
    map_y: np.ndarray
    trust: np.ndarray

    @classmethod
    def start(cls, keyframe: int, shape: tuple[int, int]) -> "_Carry":
        h, w = shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        return cls(keyframe, xs, ys, np.ones(shape, np.float32))

    def step(self, frame: np.ndarray, previous: np.ndarray) -> "_Carry":
        """The carry one frame on: `frame` follows (or, carrying backward, precedes) `previous`, both (h, w) uint8."""
        mx, my = came_from(frame, previous)
        bx, by = came_from(previous, frame)
        # Forward-backward check: from `previous` at (mx, my), the flow back should land where we started.
        h, w = frame.shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        back_x = cv2.remap(bx, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        back_y = cv2.remap(by, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        miss = np.hypot(back_x - xs, back_y - ys)
        motion = np.hypot(mx - xs, my - ys)
        warped = cv2.remap(previous, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        error = np.abs(frame.astype(np.float32) - warped.astype(np.float32)) / 255
        step = np.exp(-((error / LUMA_ERROR) ** 4)) * (miss <= FB_PX + FB_SHARE * motion)
        inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
        sample = lambda a: cv2.remap(a, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # noqa: E731
        return _Carry(self.keyframe, sample(self.map_x), sample(self.map_y), sample(self.trust) * step * inside)

    def kept(self, dtype: type = np.float16) -> "_Carry":
        """A copy to keep until its frame comes (half precision: a fraction of a work pixel), or to use (float32)."""
        return _Carry(self.keyframe, *(a.astype(dtype) for a in (self.map_x, self.map_y, self.trust)))


class HintCarrier:
    """The keyframes' hinted colour carried along the optical flow to every frame of their shots; see the module
    docstring. `prepare` sees the frames up to the last keyframe once, then `follow` and `apply` each frame in
    order. `base` is what every frame gets (a reference photo for the clip): a keyframe is coloured with it too."""

    def __init__(self, colorizer: Colorizer, keyframes: dict[int, Hints], base: Hints | None = None) -> None:
        self.colorizer, self.keyframes, self.base = colorizer, dict(sorted(keyframes.items())), base
        self.colour: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # keyframe -> its colour and where it counts
        self.backward: dict[int, list[_Carry]] = {}  # frame -> the carries of the later keyframes of its shot
        self.forward: list[_Carry] = []  # the carries of this shot's keyframes so far
        self.previous: np.ndarray | None = None

    def prepare(self, grays: Iterable[np.ndarray]) -> int:
        """Pass 1 over the (H, W) uint8 frames, up to the last keyframe; returns how many it read. A keyframe past
        the end is an error naming the film's length."""
        shot: list[np.ndarray] = []  # this shot's frames at work size
        count, last = 0, max(self.keyframes)
        for index, gray in enumerate(grays):
            count += 1
            small = _small(gray)
            if shot and _new_shot(shot[-1], small):
                shot = []
            shot.append(small)
            if index in self.keyframes:
                self.keyframes[index].check(*gray.shape)
                self.colour[index] = self._keyframe_colour(gray, self.keyframes[index], small.shape)
                carry = _Carry.start(index, small.shape)
                for before in range(len(shot) - 2, -1, -1):  # back to the shot's start
                    carry = carry.step(shot[before], shot[before + 1])
                    self.backward.setdefault(index - (len(shot) - 1 - before), []).append(carry.kept())
            if index == last:
                return count
        image = self.keyframes[last].image
        raise ColorizeError(f"{image or 'hints'}: for frame {last}, but the film has {count} frames (0 to {count - 1})")

    def _keyframe_colour(self, gray: np.ndarray, hints: Hints, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """A keyframe's colour with its hints (and the clip's reference) at work size, and (0..1) how much its hints
        changed the colour every frame gets there."""
        model = self.colorizer.model_chroma([gray])[0]
        every = model if self.base is None else self.colorizer.apply_hints(gray, model, self.base)
        own = hints if self.base is None else dataclasses.replace(hints, reference=self.base.reference)
        hinted = self.colorizer.apply_hints(gray, model, own)
        size = shape[::-1]
        every, hinted = (cv2.resize(np.ascontiguousarray(c, np.float32), size, interpolation=cv2.INTER_AREA) for c in (every, hinted))
        changed = np.clip(np.abs(hinted - every).max(axis=-1) / CHANGED_CHROMA, 0.0, 1.0)
        return hinted, changed.astype(np.float32)

    def follow(self, index: int, gray: np.ndarray) -> None:
        """Pass 2, every frame in order (those a resumed run skips too): carry this shot's keyframes' colour on to
        frame `index`, its (H, W) uint8 luminance."""
        small = _small(gray)
        self.backward.pop(index - 1, None)  # a frame a resumed run skipped: its carries are not needed
        if self.previous is not None and _new_shot(self.previous, small):
            self.forward = []
        else:
            self.forward = [c.step(small, self.previous) for c in self.forward]
        if index in self.keyframes:
            self.forward.append(_Carry.start(index, small.shape))
        self.previous = small

    def apply(self, index: int, chroma: np.ndarray) -> np.ndarray:
        """Pass 2, after `follow`: frame `index`'s colour from the model, (h, w, 2); where a keyframe's colour is
        carried here, the colour at work size moved towards it as far as the carry is trusted (of several
        keyframes' colours, the nearer keyframe's weighs more), else `chroma` as it was."""
        carries = self.forward + [c.kept(np.float32) for c in self.backward.pop(index, [])]
        if not carries:
            return chroma
        colour = cv2.resize(np.ascontiguousarray(chroma, np.float32), self.previous.shape[::-1], interpolation=cv2.INTER_LINEAR)
        weights = np.zeros(self.previous.shape, np.float32)
        amount = np.zeros(self.previous.shape, np.float32)
        carried = np.zeros_like(colour)
        for c in carries:
            key_colour, changed = self.colour[c.keyframe]
            sample = lambda a: cv2.remap(a, c.map_x, c.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # noqa: E731
            reach = c.trust * sample(changed)
            weight = reach / (1 + abs(index - c.keyframe)) ** 2  # Shepard's inverse-distance weights
            amount = np.maximum(amount, reach)
            weights += weight
            carried += weight[..., None] * sample(key_colour)
        amount = np.clip(amount, 0.0, 1.0)[..., None]
        return (1 - amount) * colour + carried / np.maximum(weights, 1e-12)[..., None] * amount


def _new_shot(previous: np.ndarray, frame: np.ndarray) -> bool:
    """Whether `frame` starts a new shot after `previous` (a cut, or a frame of another size)."""
    return previous.shape != frame.shape or is_cut(previous, frame)


def _small(gray: np.ndarray) -> np.ndarray:
    """A frame at the stabiliser's work size."""
    return cv2.resize(gray, work_size(*gray.shape), interpolation=cv2.INTER_AREA)
