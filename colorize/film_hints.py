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

import logging
import re
from dataclasses import dataclass
from typing import Iterable

import cv2
import numpy as np

from colorize.errors import ColorizeError
from colorize.hints import Hints
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
_TIMESTAMP = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)")


def frame_number(text: str, fps: float) -> int:
    """A keyframe as the user names it: a zero-based frame number (`120`) or a timestamp (`00:01:12.5`, `1:12`)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        raise ColorizeError(f"{text!r} is not a frame: give a frame number (0 is the first) or a time like 00:01:12.5")
    hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), float(m.group(3))
    return round((3600 * hours + 60 * minutes + seconds) * fps)


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
    docstring. `prepare` sees every frame once, then `apply` each frame in order."""

    def __init__(self, colorizer: Colorizer, keyframes: dict[int, Hints]) -> None:
        self.colorizer, self.keyframes = colorizer, dict(sorted(keyframes.items()))
        self.colour: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # keyframe -> its colour and where it counts
        self.backward: dict[int, _Carry] = {}  # frame -> the next keyframe's carry in its shot
        self.forward: _Carry | None = None
        self.previous: np.ndarray | None = None

    def prepare(self, grays: Iterable[np.ndarray]) -> int:
        """Pass 1 over every (H, W) uint8 frame; returns the frame count. A keyframe past the end is an error
        naming the film's length."""
        shot: list[np.ndarray] = []  # this shot's frames at work size, up to the next keyframe
        count = 0
        for index, gray in enumerate(grays):
            count += 1
            small = _small(gray)
            if shot and is_cut(shot[-1], small):
                shot = []
            shot.append(small)
            if index in self.keyframes:
                self.keyframes[index].check(*gray.shape)
                self.colour[index] = self._keyframe_colour(gray, self.keyframes[index], small.shape)
                carry = _Carry.start(index, small.shape)
                for before in range(len(shot) - 2, -1, -1):  # back to the shot's start, or the keyframe before
                    carry = carry.step(shot[before], shot[before + 1])
                    self.backward[index - (len(shot) - 1 - before)] = carry.kept()
                shot = [small]
        late = [k for k in self.keyframes if k >= count]
        if late:
            raise ColorizeError(f"hints for frame {late[0]}, but the film has {count} frames (0 to {count - 1})")
        return count

    def _keyframe_colour(self, gray: np.ndarray, hints: Hints, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """A keyframe's colour with its hints at work size, and (0..1) how much they changed the model's there."""
        model = self.colorizer.model_chroma([gray])[0]
        hinted = self.colorizer.apply_hints(gray, model, hints)
        size = shape[::-1]
        model, hinted = (cv2.resize(np.ascontiguousarray(c, np.float32), size, interpolation=cv2.INTER_AREA) for c in (model, hinted))
        changed = np.clip(np.abs(hinted - model).max(axis=-1) / CHANGED_CHROMA, 0.0, 1.0)
        return hinted, changed.astype(np.float32)

    def follow(self, index: int, gray: np.ndarray) -> None:
        """Pass 2, every frame in order (those a resumed run skips too): carry the last keyframe's colour on to frame
        `index`, its (H, W) uint8 luminance."""
        small = _small(gray)
        if self.previous is not None and is_cut(self.previous, small):
            self.forward = None
        elif self.forward is not None:
            self.forward = self.forward.step(small, self.previous)
        if index in self.keyframes:
            self.forward = _Carry.start(index, small.shape)
        self.previous = small

    def apply(self, index: int, chroma: np.ndarray) -> np.ndarray:
        """Pass 2, after `follow`: frame `index`'s colour from the model, (h, w, 2) -> at work size, moved towards
        the keyframes' carried colour where the carry is trusted."""
        backward = self.backward.pop(index, None)
        carries = [c for c in (self.forward, backward and backward.kept(np.float32)) if c is not None]
        colour = cv2.resize(np.ascontiguousarray(chroma, np.float32), self.previous.shape[::-1], interpolation=cv2.INTER_LINEAR)
        if not carries:
            return colour
        # Between two keyframes, each weighs by the nearness of the other: a frame 1/4 of the way is 3/4 the first's.
        span = sum(abs(index - c.keyframe) for c in carries)
        total = np.zeros(self.previous.shape, np.float32)
        carried = np.zeros_like(colour)
        for c in carries:
            nearness = 1.0 if len(carries) == 1 else 1 - abs(index - c.keyframe) / span
            key_colour, changed = self.colour[c.keyframe]
            sample = lambda a: cv2.remap(a, c.map_x, c.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # noqa: E731
            amount = nearness * c.trust * sample(changed)
            total += amount
            carried += amount[..., None] * sample(key_colour)
        amount = np.clip(total, 0.0, 1.0)[..., None]
        return (1 - amount) * colour + carried / np.maximum(total, 1e-6)[..., None] * amount


def _small(gray: np.ndarray) -> np.ndarray:
    """A frame at the stabiliser's work size."""
    return cv2.resize(gray, work_size(*gray.shape), interpolation=cv2.INTER_AREA)
