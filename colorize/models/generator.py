"""The generator: fastai's DynamicUnet (self-attention, blur, spectral norm) on a registry encoder."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from colorize.color.tensors import ab_bins, annealed_mean, gray_to_lightness, lab_to_rgb
from colorize.config import HEADS, ModelConfig
from colorize.errors import ConfigError
from colorize.config import HINT_INPUT_CHANNELS
from colorize.models.encoders import create_encoder, encoder_spec

with warnings.catch_warnings():
    # fastai scripts a few activations with torch.jit at import time, which recent torch flags as deprecated.
    warnings.simplefilter("ignore", FutureWarning)
    from fastai.layers import NormType
    from fastai.vision.models.unet import DynamicUnet

# DynamicUnet sizes its decoder by running a dummy batch of this size through the encoder.
_PROBE_SIZE_PX = (128, 128)


# ab-bin logits are predicted per 4x4 patch, as in Zhang et al.: colour varies slowly, and the loss is 16x cheaper.
BIN_POOL = 4


class Generator(nn.Module):
    """Gray in, colour out: (B, 1, H, W) luminance in [0, 1] -> (B, 3, H, W) RGB in [0, 1].

    With `head = "ab_bins"` the U-Net predicts logits over quantised ab bins (`logits`), and the forward pass
    decodes them by the annealed mean onto the input's lightness, so everything downstream still sees RGB.

    With a `hint_input`, a (B, C, H, W) hint input (chroma + mask, or with `field` those spread over their regions:
    `colorize.train.hint_field`) is projected by a zero-initialised 1x1 convolution and added to the
    encoder's input, which is the gray photo repeated as RGB: the ImageNet encoder reads a hint as colour painted on
    the photo. Projecting into the input, rather than widening the encoder's first
    convolution, keeps the U-Net's shape, so the base model's weights load unchanged; and fastai's last cross,
    which concatenates the U-Net's input, sees the hints too. Zero-initialised, the model is exactly its base.
    """

    def __init__(self, cfg: ModelConfig, pretrained: bool = False, encoder_weights: Path | None = None) -> None:
        super().__init__()
        if cfg.head not in HEADS:
            raise ConfigError(f"model.head = {cfg.head!r}; choose one of: {', '.join(HEADS)}")
        self.cfg = cfg
        spec = encoder_spec(cfg.arch)
        encoder = create_encoder(cfg.arch, pretrained, encoder_weights)
        bins = torch.from_numpy(ab_bins())
        self.unet = DynamicUnet(
            encoder,
            n_out=3 if cfg.head == "rgb" else len(bins),
            img_size=_PROBE_SIZE_PX,
            blur=cfg.blur,
            self_attention=cfg.self_attention,
            y_range=(0.0, 1.0) if cfg.head == "rgb" else None,
            norm_type=NormType.Spectral if cfg.spectral_norm else NormType.Batch,
        )
        self.register_buffer("bin_centres", bins, persistent=False)
        # DynamicUnet ends by wrapping its output in fastai's TensorBase; plain tensors keep export and
        # autocast simple and avoid fastai's per-op dispatch overhead.
        if type(self.unet.layers[-1]).__name__ == "ToTensorBase":
            self.unet.layers = self.unet.layers[:-1]
        self.hint_in = None
        if cfg.hint_input != "none":
            self.hint_in = nn.Conv2d(HINT_INPUT_CHANNELS[cfg.hint_input], 3, kernel_size=1)
            nn.init.zeros_(self.hint_in.weight)
            nn.init.zeros_(self.hint_in.bias)
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)

    @property
    def encoder(self) -> nn.Module:
        """The pretrained part, frozen first in stage 1."""
        return self.unet.layers[0]

    def _input(self, gray: torch.Tensor, hints: torch.Tensor | None) -> torch.Tensor:
        """(B, 3, H, W): the gray repeated as RGB in the encoder's statistics, plus the projected hints."""
        x = (gray.expand(-1, 3, -1, -1) - self.mean) / self.std
        if self.hint_in is not None:
            if hints is None:
                hints = gray.new_zeros(gray.shape[0], self.hint_in.in_channels, *gray.shape[-2:])
            x = x + self.hint_in(hints.to(x.dtype))
        return x

    def logits(self, gray: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """ab-bin head only: (B, 1, H, W) gray -> (B, Q, H/4, W/4) bin logits."""
        return F.avg_pool2d(self.unet(self._input(gray, hints)), BIN_POOL)

    def decode(self, logits: torch.Tensor, gray: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Bin logits + the gray input -> (B, 3, H, W) RGB: the annealed-mean ab (at `temperature`, default the
        config's) on the gray's own lightness."""
        ab = annealed_mean(logits, temperature or self.cfg.temperature, self.bin_centres)
        ab = F.interpolate(ab, gray.shape[-2:], mode="bilinear", align_corners=False)
        return lab_to_rgb(torch.cat([gray_to_lightness(gray.float()), ab], dim=1))

    def forward(
        self, gray: torch.Tensor, with_logits: bool = False, hints: torch.Tensor | None = None,
        temperature: float | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """RGB, or (RGB, bin logits or None) with `with_logits` (through forward, so DDP sees the pass). `hints`:
        (B, C, H, W) hint inputs (`colorize.train.hint_field`), for a model built with `hints` (none: no hints).
        `temperature`: an ab-bin head's decoding temperature, default its config's."""
        if self.cfg.head == "ab_bins":
            logits = self.logits(gray, hints)
            rgb = self.decode(logits, gray, temperature)
        else:
            rgb, logits = self.unet(self._input(gray, hints)), None
        return (rgb, logits) if with_logits else rgb
