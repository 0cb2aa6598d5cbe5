"""The inference pipeline: gray photos in, colour photos out, over any backend that runs the network.

    (H, W) uint8 gray -> (S, S) luminance at render size -> backend: network -> (S, S, 2) chroma x gain
    -> hint correction -> merged with the photo's own, untouched luminance -> (H, W, 3) uint8 RGB

Everything but the network happens here, once, in NumPy: a backend (`colorize.inference.TorchBackend`,
`colorize.onnx_engine.OnnxBackend`) only maps a batch of luminances (and hint inputs) to RGB at render size.
The model sees a square `render_factor * 16` px copy of the photo (DeOldify's scheme: cost independent of input
size, any aspect ratio batches together).

Torch-free on purpose: the ONNX engine colorizes without importing torch.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Protocol, Sequence

import cv2
import numpy as np

from colorize.color.ycbcr import chroma_of, merge
from colorize.config import HINT_INPUT_CHANNELS, upgrade_model_config
from colorize.errors import ColorizeError
from colorize.hint_solver import solve_hints
from colorize.hints import Hints

log = logging.getLogger(__name__)

# For checkpoints that do not record the scale they were trained at (DeOldify's photo default).
DEFAULT_RENDER_FACTOR = 35
MIN_RENDER_FACTOR = 7
RENDER_UNIT_PX = 16
# The network's total stride: it sees sides that are multiples of this, so one exported graph serves every render
# size (fastai's U-Net resizes a decoder map where an odd encoder size rounded, a branch an export fixes).
MODEL_STRIDE_PX = 32



@dataclass(frozen=True)
class InferenceConfig:
    """What inference needs to feed a checkpoint and read its output, stored once with the weights (timm's
    `PretrainedCfg` idea) and read by every backend and the ONNX cache. User knobs (`--vividness`,
    `--render-factor`) scale it in the `Colorizer`; nothing here changes after training chose it."""

    # The scale the model was trained and scored at: it sees render_factor x 16 px.
    render_factor: int = DEFAULT_RENDER_FACTOR
    # RGB head: the predicted chroma is multiplied by this (L1 regression predicts a median, paler than the truth).
    chroma_gain: float = 1.0
    # ab-bin head: the annealed mean's temperature (lower: more vivid); None for an RGB head.
    temperature: float | None = None
    # What a hint-aware model (`colorize train hints`) takes as its hint input: none (no hint input), the points,
    # their field spread over their regions, or that plus the wide field (`colorize.train.hint_field`).
    hint_input: str = "none"

    def __post_init__(self) -> None:
        if self.hint_input not in HINT_INPUT_CHANNELS:
            raise ColorizeError(f"hint_input {self.hint_input!r}; choose one of {', '.join(HINT_INPUT_CHANNELS)}")

    @classmethod
    def from_checkpoint(cls, meta: dict[str, Any], render_factor: int = DEFAULT_RENDER_FACTOR) -> "InferenceConfig":
        """The checkpoint's own record (`inference`), or for checkpoints written before there was one, the same
        facts read from where they were kept (the model config and a top-level render factor, else
        `render_factor`)."""
        if isinstance(meta.get("inference"), dict):
            return cls(**meta["inference"])
        model = upgrade_model_config(meta.get("model_config") or {})
        ab_bins = model.get("head") == "ab_bins"
        return cls(render_factor=meta.get("render_factor") or render_factor,
                   chroma_gain=1.0 if ab_bins else float(model.get("chroma_gain", 1.0)),
                   temperature=float(model.get("temperature", 0.38)) if ab_bins else None,
                   hint_input=model.get("hint_input", "none"))

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for a checkpoint, a manifest or the ONNX cache's record."""
        return asdict(self)


class Backend(Protocol):
    """Runs the network and nothing else."""

    description: str  # e.g. "cpu (onnxruntime)", shown in the log
    # Whether `run` honours a decoding temperature (an ab-bin model's vividness); an export bakes its own in.
    takes_temperature: bool

    def run(self, luma: np.ndarray, hints: np.ndarray | None, temperature: float | None) -> np.ndarray:
        """(B, 1, S, S) float32 luminance in [0, 1] and, for a hint-aware model, (B, C, S, S) hint inputs ->
        (B, 3, S, S) float32 RGB in [0, 1]. Raises `RenderTooLarge` when even one photo at this size does not fit."""


class ModelOutputError(ColorizeError):
    """The network gave no usable colour (non-finite values) for a batch of photos."""


class RenderTooLarge(ColorizeError):
    """The device ran out of memory for a single photo at this render size."""


def render_factor_for(size_px: int) -> int:
    """The render factor at which a model sees a whole photo at the size it was trained and scored at."""
    return max(MIN_RENDER_FACTOR, size_px // RENDER_UNIT_PX)


def stride_multiple(size_px: int) -> int:
    """The side the network sees for a render size: rounded up to a multiple of its stride."""
    return -(-size_px // MODEL_STRIDE_PX) * MODEL_STRIDE_PX


def model_input(gray: np.ndarray, size_px: int) -> np.ndarray:
    """(H, W) uint8 -> (S, S) float32 luminance in [0, 1] at render size.

    OpenCV resizes uint8 with SIMD in one pass: at 12 MP ~20x faster than torch's antialiased float resize.
    """
    shrink = gray.shape[0] * gray.shape[1] > size_px * size_px
    small = cv2.resize(np.ascontiguousarray(gray), (size_px, size_px), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return small.astype(np.float32) * np.float32(1 / 255)


class Colorizer:
    """Turns grayscale photos (H, W) uint8 into colour (H, W, 3) uint8 with the original luminance."""

    def __init__(self, backend: Backend, inference: InferenceConfig, render_factor: int | None = None,
                 batch_size: int = 4, vividness: float = 1.0, mirror: bool = True) -> None:
        """`render_factor` lowers the model's own (it is never raised above it); `vividness` multiplies an RGB
        model's chroma gain or divides an ab-bin model's temperature: above 1 more saturated, below 1 paler. With
        `mirror`, the model's colour is the mean of its colour for the photo and for the photo mirrored (twice the
        network's time): where the model is unsure, the two disagree and their mean falls toward neutral, and a
        colour it is sure of stays."""
        render_factor = render_factor or inference.render_factor
        if render_factor > inference.render_factor:
            # Shown more than it was trained on, a model's colour gets worse, not finer (rust-brown blotches; the
            # default model's chroma error on photos: 10.7 at its own 8, 11.9 at 16, 13.9 at 32, gray 15.6), and
            # the colour's detail comes from the photo's own edges anyway (`colorize.edge_aware`).
            log.warning("render factor %d is above this model's own (%d): using %d; the colour follows the photo's "
                        "edges at full resolution whatever the factor", render_factor, inference.render_factor,
                        inference.render_factor)
            render_factor = inference.render_factor
        if render_factor < MIN_RENDER_FACTOR:
            raise ColorizeError(f"render factor {render_factor} is too small; use {MIN_RENDER_FACTOR} or more")
        if batch_size < 1:
            raise ColorizeError("batch size must be at least 1")
        if vividness <= 0:
            raise ColorizeError(f"vividness must be positive, got {vividness:g}")
        self.backend = backend
        self.inference = inference
        self.render_factor = render_factor
        self.batch_size = batch_size
        self.mirror = mirror
        self.chroma_gain = inference.chroma_gain * (1.0 if inference.temperature is not None else vividness)
        self.temperature = None if inference.temperature is None else inference.temperature / vividness
        if self.temperature != inference.temperature and not backend.takes_temperature:
            raise ColorizeError(f"vividness {vividness:g} on this model needs the PyTorch engine (--engine torch): "
                                f"{backend.description} runs it at its own colour temperature only")

    @property
    def device(self) -> str:
        """What runs the network, in words."""
        return self.backend.description

    @property
    def render_size_px(self) -> int:
        """Side of the square the model sees."""
        return self.render_factor * RENDER_UNIT_PX

    @property
    def takes_hints(self) -> bool:
        """Whether the model has a hint input; every model follows hints through the correction anyway."""
        return self.inference.hint_input != "none"

    def colorize(self, grays: Sequence[np.ndarray], hints: Sequence[Hints | None] | None = None) -> list[np.ndarray]:
        """Colorize (H, W) uint8 luminance arrays of any sizes (with each one's hints, if any), batched by
        `batch_size`; each batch's colour is merged before the next is computed, so only outputs accumulate."""
        hints = list(hints) if hints is not None else [None] * len(grays)
        out: list[np.ndarray] = []
        for start in range(0, len(grays), self.batch_size):
            batch = slice(start, start + self.batch_size)
            out += [merge(g, c) for g, c in zip(grays[batch], self.chroma(grays[batch], hints[batch]))]
        return out

    def chroma(self, grays: Sequence[np.ndarray], hints: Sequence[Hints | None] | None = None) -> list[np.ndarray]:
        """The model's colour for each (H, W) uint8 luminance: (S, S, 2) float32 CbCr at render size, or where a
        photo has hints, corrected by them (`colorize.hint_solver`) at the solver's detail size."""
        hints = list(hints) if hints is not None else [None] * len(grays)
        return [self.apply_hints(g, c, h) for g, c, h in zip(grays, self.model_chroma(grays), hints)]

    def model_chroma(self, grays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The model's own colour for each (H, W) uint8 luminance, batched by `batch_size`: (S, S, 2) float32 CbCr
        at render size, gain applied. It does not depend on hints, so whoever edits hints may keep it."""
        out: list[np.ndarray] = []
        for start in range(0, len(grays), self.batch_size):
            out.extend(self._chroma_at_fitting_size(grays[start : start + self.batch_size]))
        return out

    @staticmethod
    def apply_hints(gray: np.ndarray, chroma: np.ndarray, hints: Hints | None) -> np.ndarray:
        """`chroma` (the model's, for (H, W) `gray`) corrected by the photo's hints, if any."""
        return chroma if hints is None else solve_hints(gray, chroma, hints)

    def merge(self, gray: np.ndarray, chroma: np.ndarray) -> np.ndarray:
        """(H, W) uint8 luminance + (h, w, 2) CbCr of any size -> (H, W, 3) uint8 RGB with exactly that luminance."""
        return merge(gray, chroma)

    def _chroma_at_fitting_size(self, grays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """`_chroma` at the render size, or where the device cannot hold one photo at it, at smaller ones: never
        gray silently."""
        factor = self.render_factor
        while True:
            try:
                return self._chroma(grays, factor * RENDER_UNIT_PX)
            except RenderTooLarge:
                if factor <= MIN_RENDER_FACTOR:
                    raise ColorizeError("out of memory for one photo even at the smallest render factor; on a GPU, "
                                        "--device cpu uses the machine's memory instead") from None
                factor = max(MIN_RENDER_FACTOR, int(factor * 0.75))
                log.warning("out of memory at batch 1: lowering render factor to %d for this batch", factor)

    def no_hints(self, batch: int, size_px: int) -> np.ndarray | None:
        """What the network's hint input gets: zeros for a hint-aware model, which is shown no hints (the solve does
        better alone than on the model's own attempt, docs/experiments/2026-11-30-models-v3-to-v7.md, and the
        model's colour then stays the same while a person edits hints); None for a model without that input."""
        if not self.takes_hints:
            return None
        channels = HINT_INPUT_CHANNELS[self.inference.hint_input]
        return np.zeros((batch, channels, size_px, size_px), np.float32)

    def _chroma(self, grays: Sequence[np.ndarray], size_px: int) -> list[np.ndarray]:
        lumas = np.stack([model_input(g, size_px) for g in grays])[:, None]  # (B, 1, S, S)
        if self.mirror:
            lumas = np.concatenate([lumas, lumas[..., ::-1]])
        # Mirrored past its edges, evenly, up to the network's stride, and the colour cut back to S: a photo and its
        # mirror image stay each other's mirror image.
        padded = stride_multiple(size_px)
        edge = (padded - size_px) // 2
        pad = ((0, 0), (0, 0), (edge, padded - size_px - edge), (edge, padded - size_px - edge))
        lumas = np.pad(lumas, pad, mode="reflect") if padded > size_px else lumas
        rgb = self.backend.run(np.ascontiguousarray(lumas), self.no_hints(len(lumas), padded), self.temperature)
        rgb = rgb[..., edge : edge + size_px, edge : edge + size_px]  # (B, 3, S, S)
        if self.mirror:  # chroma is linear in RGB: the mean of the two colours is the mean of their chroma
            rgb = (rgb[: len(grays)] + rgb[len(grays) :, ..., ::-1]) * np.float32(0.5)
        if not np.isfinite(rgb).all():
            # Black pixels would replace the photo's own luminance: never write such a photo.
            raise ModelOutputError("the model's output is not a finite number (NaN or infinity): its weights or their "
                                   "export are damaged; restore them, or try --engine torch")
        chroma = chroma_of(rgb.transpose(0, 2, 3, 1))
        if self.chroma_gain != 1.0:
            chroma *= np.float32(self.chroma_gain)
        return list(chroma)
