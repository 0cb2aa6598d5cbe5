"""The generator's reconstruction objective, as the recipe composes it: the perceptual loss (pixel, chroma, VGG
features) on the decoded colour, plus, when asked, ab-bin classification and the colourfulness term."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from colorize.config import LossConfig, ModelConfig
from colorize.errors import ConfigError
from colorize.inference import recolor
from colorize.losses.colour import BinClassificationLoss, colorfulness_loss, rebalance_weights
from colorize.losses.perceptual import PerceptualLoss


class Objective(nn.Module):
    """loss(rgb, target, logits) for stage 1 and the GAN's reconstruction term; see the module docstring."""

    def __init__(self, cfg: LossConfig, model_cfg: ModelConfig, prior: np.ndarray | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.classification_weight and model_cfg.head != "ab_bins":
            raise ConfigError('loss.classification_weight needs model.head = "ab_bins" (a head that predicts bins)')
        self.perceptual = PerceptualLoss(cfg)
        self.classify = None
        if cfg.classification_weight:
            if prior is None:
                raise ConfigError("the ab-bin classification loss needs the corpus's ab prior")
            self.classify = BinClassificationLoss(rebalance_weights(prior, cfg.rebalance_lambda))

    @property
    def wants_logits(self) -> bool:
        """Whether `forward` needs the generator's bin logits."""
        return self.classify is not None

    @property
    def description(self) -> str:
        """What the run manifest records as the loss actually used."""
        parts = [self.perceptual.description]
        if self.classify is not None:
            parts.append(f"ab-bin cross-entropy x{self.cfg.classification_weight:g} (rebalanced, λ {self.cfg.rebalance_lambda:g})")
        if self.cfg.colorfulness_weight:
            parts.append(f"colourfulness x{self.cfg.colorfulness_weight:g}")
        return " + ".join(parts)

    def forward(self, rgb: torch.Tensor, target: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        loss = self.perceptual(rgb, target)
        if self.classify is not None:
            loss = loss + self.cfg.classification_weight * self.classify(logits, target)
        if self.cfg.colorfulness_weight:
            loss = loss + self.cfg.colorfulness_weight * colorfulness_loss(recolor(rgb.float(), target.float()))
        return loss
