"""The generator: fastai's DynamicUnet (self-attention, blur, spectral norm) on a registry encoder."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from colorize.config import ModelConfig
from colorize.models.encoders import create_encoder, encoder_spec

with warnings.catch_warnings():
    # fastai scripts a few activations with torch.jit at import time, which recent torch flags as deprecated.
    warnings.simplefilter("ignore", FutureWarning)
    from fastai.layers import NormType
    from fastai.vision.models.unet import DynamicUnet

# DynamicUnet sizes its decoder by running a dummy batch of this size through the encoder.
_PROBE_SIZE_PX = (128, 128)


class Generator(nn.Module):
    """Gray in, colour out: (B, 1, H, W) luminance in [0, 1] -> (B, 3, H, W) RGB in [0, 1]."""

    def __init__(self, cfg: ModelConfig, pretrained: bool = False, encoder_weights: Path | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        spec = encoder_spec(cfg.arch)
        encoder = create_encoder(cfg.arch, pretrained, encoder_weights)
        self.unet = DynamicUnet(
            encoder,
            n_out=3,
            img_size=_PROBE_SIZE_PX,
            blur=cfg.blur,
            self_attention=cfg.self_attention,
            y_range=(0.0, 1.0),
            norm_type=NormType.Spectral if cfg.spectral_norm else NormType.Batch,
        )
        # DynamicUnet ends by wrapping its output in fastai's TensorBase; plain tensors keep export and
        # autocast simple and avoid fastai's per-op dispatch overhead.
        if type(self.unet.layers[-1]).__name__ == "ToTensorBase":
            self.unet.layers = self.unet.layers[:-1]
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)

    @property
    def encoder(self) -> nn.Module:
        """The pretrained part, frozen first in stage 1."""
        return self.unet.layers[0]

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        x = (gray.expand(-1, 3, -1, -1) - self.mean) / self.std  # (B, 3, H, W) in the encoder's statistics
        return self.unet(x)
