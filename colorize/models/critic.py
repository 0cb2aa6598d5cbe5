"""The critic: fastai's `gan_critic`, DeOldify's patch critic (spectral-norm convs, LeakyReLU, dropout, one
self-attention layer), producing one logit per image patch."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from colorize.config import CriticConfig
from colorize.errors import ConfigError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from fastai.vision.gan import gan_critic


class Critic(nn.Module):
    """(B, 3, H, W) RGB in [0, 1] -> (B, P) patch logits (real > 0 > generated)."""

    def __init__(self, cfg: CriticConfig) -> None:
        super().__init__()
        if cfg.arch != "patch":
            raise ConfigError(f"unknown critic arch {cfg.arch!r}; choose: patch")
        self.cfg = cfg
        self.net = gan_critic(n_channels=3, nf=cfg.base_channels, n_blocks=cfg.n_blocks, p=cfg.dropout)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.net(rgb * 2 - 1)
