"""The PyTorch backend of the inference pipeline (`colorize.pipeline`): the generator on CPU or CUDA.

It only runs the network; the pipeline does everything around it. `load_colorizer` builds a `Colorizer` over it
from a checkpoint alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import platform
from pathlib import Path

import numpy as np
import torch
from torch import nn

from colorize.errors import ColorizeError
from colorize.pipeline import Colorizer, InferenceConfig, RenderTooLarge

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


class TorchBackend:
    """Runs a generator (an `nn.Module` mapping (B, 1, S, S) luminance [and hints] to (B, 3, S, S) RGB) on a
    device: fp16 autocast on CUDA unless `fp32`; batches split on CUDA out-of-memory."""

    def __init__(self, model: nn.Module, device: str | torch.device = "auto", fp32: bool = False,
                 channels_last: bool = True) -> None:
        """`model` is moved to the device and, unless `channels_last=False`, converted in place to channels-last
        memory format (+27 % photos/s on CPU at render factor 35: docs/benchmarks.md)."""
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(self.device, memory_format=self.memory_format).eval()
        # fp16 autocast on CUDA halves memory and time; CPU autocast is slower than fp32 for these convs.
        self.autocast_dtype = None if fp32 or self.device.type != "cuda" else torch.float16
        self.description = describe_device(self.device)
        self.takes_temperature = True

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    @torch.inference_mode()
    def run(self, luma: np.ndarray, hints: np.ndarray | None, temperature: float | None) -> np.ndarray:
        """(B, 1, S, S) luminance [+ (B, C, S, S) hints] -> (B, 3, S, S) float32 RGB; on CUDA out-of-memory the
        batch is halved until one photo does not fit (`RenderTooLarge`)."""
        try:
            return self._run(luma, hints, temperature)
        except torch.OutOfMemoryError:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(luma) == 1:
                raise RenderTooLarge("out of memory for one photo at this render size") from None
            half = (len(luma) + 1) // 2
            log.warning("out of memory: splitting a batch of %d", len(luma))
            return np.concatenate([self.run(luma[i : i + half], None if hints is None else hints[i : i + half], temperature)
                                   for i in (0, half)])

    def _run(self, luma: np.ndarray, hints: np.ndarray | None, temperature: float | None) -> np.ndarray:
        def to_device(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).to(self.device).contiguous(memory_format=self.memory_format)

        kwargs = {} if hints is None else {"hints": to_device(hints)}
        if temperature is not None:
            kwargs["temperature"] = temperature
        with self._autocast():
            rgb = self.model(to_device(luma), **kwargs)
        return rgb.float().cpu().numpy()


def torch_colorizer(model: nn.Module, device: str | torch.device = "auto", inference: InferenceConfig | None = None,
                    render_factor: int | None = None, batch_size: int = 4, fp32: bool = False, channels_last: bool = True,
                    vividness: float = 1.0, mirror: bool = True) -> Colorizer:
    """A `Colorizer` running `model` with PyTorch; `inference` defaults to what the model's own config says (a
    model fresh from training: chroma gain 1, the default render factor unless given)."""
    if inference is None:
        inference = InferenceConfig.from_checkpoint({"model_config": dataclasses.asdict(model.cfg)})
    backend = TorchBackend(model, device, fp32, channels_last)
    return Colorizer(backend, inference, render_factor, batch_size, vividness, mirror)


def load_colorizer(weights: Path | None = None, **kwargs: object) -> Colorizer:
    """The given checkpoint (or the shipped default model) in a PyTorch `Colorizer`, with the checkpoint's own
    inference settings (render factor: the scale it was trained at; a model trained on 128 px crops turns garish
    at 560 px). `kwargs` go to `torch_colorizer`."""
    from colorize.weights import load_generator, resolve_weights

    model, meta = load_generator(resolve_weights(weights))
    return torch_colorizer(model, inference=InferenceConfig.from_checkpoint(meta), **kwargs)  # type: ignore[arg-type]
