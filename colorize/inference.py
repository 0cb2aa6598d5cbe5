"""The inference engine: a `Colorizer` owns model, device, dtype and render factor and turns gray into colour.

Only chroma comes from the model. The model sees a square `render_factor * 16` px copy of the photo (DeOldify's
scheme: cost independent of input size, any aspect ratio batches together); its colour is reduced to YCbCr chroma,
resized back to full resolution and merged with the photo's own, untouched luminance.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorize.errors import ColorizeError
from colorize.hints import Hints, model_hint_input, spread_hints
from colorize.pixels import (
    CHROMA_TO_RGB, DEFAULT_RENDER_FACTOR, MIN_RENDER_FACTOR, RENDER_UNIT_PX, RGB_TO_CB, RGB_TO_CR, RGB_TO_Y, model_input,
    resolve_render_factor,
)
from colorize.pixels import merge as merge_cpu


log = logging.getLogger(__name__)

def resolve_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA when present; `cuda` without a GPU is a clear error rather than a crash later."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ColorizeError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ColorizeError(f"device {name!r} is not supported (colorize runs on CPU and CUDA); use auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ColorizeError(f"device {name} requested but CUDA is not available; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ColorizeError(f"device {name} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    return device


def describe_device(device: torch.device) -> str:
    """e.g. 'cuda:0 (NVIDIA H100 80GB HBM3)' or 'cpu (x86_64, 2 cores, 2 torch threads)'."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def rgb_to_chroma(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 2, H, W) Cb, Cr centred on 0."""
    m = rgb.new_tensor([RGB_TO_CB, RGB_TO_CR])  # (2, 3)
    return torch.einsum("kc,bchw->bkhw", m, rgb)


def rgb_to_luma(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) BT.601 luminance."""
    return torch.einsum("c,bchw->bhw", rgb.new_tensor(RGB_TO_Y), rgb).unsqueeze(1)


def merge_luma_chroma(y: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) Y and (B, 2, H, W) CbCr -> (B, 3, H, W) RGB in [0, 1] whose luminance is exactly `y`.

    Where the colour would leave the RGB cube, the chroma is scaled down instead of clipping the channels,
    which would change the luminance.
    """
    offsets = torch.einsum("ck,bkhw->bchw", y.new_tensor(CHROMA_TO_RGB), chroma)  # (B, 3, H, W)
    room = torch.where(offsets > 0, 1.0 - y, y)  # how far each channel may move in its direction
    limit = torch.where(offsets.abs() > 1e-6, room / offsets.abs().clamp_min(1e-6), torch.ones_like(offsets))
    scale = limit.amin(dim=1, keepdim=True).clamp(0.0, 1.0)
    return (y + scale * offsets).clamp(0.0, 1.0)


def recolor(pred: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """`pred`'s chroma on `real`'s luminance: what inference would make of `pred`, comparable with `real` on colour only."""
    return merge_luma_chroma(rgb_to_luma(real), rgb_to_chroma(pred))


class Colorizer:
    """Turns grayscale photos (H, W) uint8 into colour (H, W, 3) uint8 with the original luminance."""

    def __init__(
        self,
        model: nn.Module,
        device: str | torch.device = "auto",
        render_factor: int = DEFAULT_RENDER_FACTOR,
        batch_size: int = 4,
        fp32: bool = False,
        channels_last: bool = True,
        vividness: float = 1.0,
    ) -> None:
        """`model` is moved to the device and, unless `channels_last=False`, converted in place to channels-last
        memory format (+27 % photos/s on CPU at render factor 35: docs/benchmarks.md). `vividness` divides an
        ab-bin model's decoding temperature, or multiplies an RGB model's chroma gain (the checkpoint's own at 1.0):
        above 1 more saturated, below 1 paler."""
        if render_factor < MIN_RENDER_FACTOR:
            raise ColorizeError(f"render factor {render_factor} is too small; use {MIN_RENDER_FACTOR} or more")
        if batch_size < 1:
            raise ColorizeError("batch size must be at least 1")
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format).eval()
        self.render_factor = render_factor
        self.batch_size = batch_size
        if vividness <= 0:
            raise ColorizeError(f"vividness must be positive, got {vividness:g}")
        model_cfg = getattr(model, "cfg", None)
        self.chroma_gain = 1.0
        if getattr(model_cfg, "head", "rgb") == "ab_bins":
            model.temperature = model_cfg.temperature / vividness
        else:
            self.chroma_gain = getattr(model_cfg, "chroma_gain", 1.0) * vividness
        # fp16 autocast on CUDA halves memory and time; CPU autocast is slower than fp32 for these convs.
        self.autocast_dtype = None if fp32 or self.device.type != "cuda" else torch.float16

    @classmethod
    def from_weights(cls, weights: Path | None = None, render_factor: int | None = None, **kwargs: object) -> "Colorizer":
        """Load the given checkpoint (or the shipped default model) into a Colorizer; without a render factor, the
        checkpoint's own (the scale it was trained at: a model trained on 128 px crops turns garish at 560 px)."""
        from colorize.weights import load_generator, resolve_weights

        model, meta = load_generator(resolve_weights(weights))
        return cls(model, render_factor=resolve_render_factor(render_factor, meta), **kwargs)  # type: ignore[arg-type]

    @property
    def render_size_px(self) -> int:
        """Side of the square the model sees."""
        return self.render_factor * RENDER_UNIT_PX

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    @property
    def takes_hints(self) -> bool:
        """Whether the model has hint channels (`colorize train hints`); others ignore hints."""
        return bool(getattr(getattr(self.model, "cfg", None), "hints", False))

    @torch.inference_mode()
    def _predict_chroma(self, grays: Sequence[np.ndarray], size_px: int, hints: Sequence[Hints | None]) -> torch.Tensor:
        """Full-resolution (H, W) uint8 luminances (and their hints) -> (B, 2, S, S) chroma at render size, each
        corrected by its hints (`spread_hints`)."""
        small = torch.stack([self._render_input(g, size_px) for g in grays]).contiguous(memory_format=self.memory_format)
        maps = [None if h is None else h.render(*g.shape, size_px) for g, h in zip(grays, hints)]
        lumas = small[:, 0].float().cpu().numpy() if any(m is not None for m in maps) else [None] * len(maps)
        kwargs = {}
        if self.takes_hints:
            cfg = self.model.cfg
            stacked = [torch.from_numpy(model_hint_input(m, y, size_px, cfg.hints_spread, cfg.hints_wide))
                       for m, y in zip(maps, lumas)]
            kwargs["hints"] = torch.stack(stacked).to(self.device).contiguous(memory_format=self.memory_format)
        with self._autocast():
            rgb = self.model(small, **kwargs)  # (B, 3, S, S)
        chroma = rgb_to_chroma(rgb.float())
        if self.chroma_gain != 1.0:
            chroma.mul_(self.chroma_gain)
        for i, m in enumerate(maps):
            if m is not None:
                corrected = spread_hints(chroma[i].permute(1, 2, 0).cpu().numpy(), lumas[i], m)
                chroma[i] = torch.from_numpy(corrected).permute(2, 0, 1).to(chroma.device)
        return chroma

    def _render_input(self, gray: np.ndarray, size_px: int) -> torch.Tensor:
        """(H, W) uint8 -> (1, S, S) float luminance in [0, 1] at render size, on the device."""
        if self.device.type == "cpu":
            return torch.from_numpy(model_input(gray, size_px))[None]
        return F.interpolate(self._luma(gray)[None], (size_px, size_px), mode="bilinear", antialias=True)[0]

    @torch.inference_mode()
    def colorize(self, grays: Sequence[np.ndarray], hints: Sequence[Hints | None] | None = None) -> list[np.ndarray]:
        """Colorize a list of (H, W) uint8 luminance arrays of any sizes (with each one's hints, if any); batched by
        `batch_size`."""
        return [self.merge(g, c) for g, c in zip(grays, self.chroma(grays, hints))]

    @torch.inference_mode()
    def chroma(self, grays: Sequence[np.ndarray], hints: Sequence[Hints | None] | None = None) -> list[torch.Tensor]:
        """The model's colour for each (H, W) uint8 luminance, corrected by its hints if any: (2, S, S) CbCr at render
        size, on the device."""
        hints = list(hints) if hints is not None else [None] * len(grays)
        out: list[torch.Tensor] = []
        for start in range(0, len(grays), self.batch_size):
            stop = start + self.batch_size
            out.extend(self._chroma_with_oom_fallback(list(grays[start:stop]), hints[start:stop]))
        return out

    @torch.inference_mode()
    def merge(self, gray: np.ndarray, chroma: torch.Tensor) -> np.ndarray:
        """(H, W) uint8 luminance + (2, h, w) CbCr of any size -> (H, W, 3) uint8 RGB with exactly that luminance."""
        if self.device.type == "cpu":
            return merge_cpu(gray, chroma.float().permute(1, 2, 0).numpy())
        y = self._luma(gray)
        c_full = F.interpolate(chroma.to(self.device, torch.float32)[None], y.shape[-2:], mode="bilinear", align_corners=False)
        rgb = merge_luma_chroma(y[None], c_full)[0]  # (3, H, W)
        return rgb.mul_(255.0).round_().byte().permute(1, 2, 0).cpu().numpy()

    def _luma(self, gray: np.ndarray) -> torch.Tensor:
        # np.require copies only arrays torch cannot wrap (read-only ones, e.g. straight from Pillow).
        return torch.from_numpy(np.require(gray, np.uint8, ["C", "W"])).to(self.device).float().div_(255.0)[None]

    def _chroma_with_oom_fallback(self, ys: list[np.ndarray], hints: list[Hints | None]) -> torch.Tensor:
        """On CUDA out-of-memory: split the batch, then lower the render factor; never return gray silently."""
        size_px = self.render_size_px
        while True:
            try:
                return torch.cat([self._predict_chroma(ys[i : i + self.batch_size], size_px, hints[i : i + self.batch_size])
                                  for i in range(0, len(ys), self.batch_size)])
            except torch.OutOfMemoryError:
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                if self.batch_size > 1:
                    self.batch_size = max(1, self.batch_size // 2)
                    log.warning("out of memory: lowering batch size to %d", self.batch_size)
                    continue
                factor = size_px // RENDER_UNIT_PX
                if factor <= MIN_RENDER_FACTOR:
                    raise ColorizeError(
                        "out of memory even at batch 1 and the smallest render factor; use --device cpu"
                    ) from None
                factor = max(MIN_RENDER_FACTOR, int(factor * 0.75))
                size_px = factor * RENDER_UNIT_PX
                log.warning("out of memory at batch 1: lowering render factor to %d for this batch", factor)
