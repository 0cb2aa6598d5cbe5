"""The generator's reconstruction objective, as the recipe composes it: the perceptual loss (pixel, chroma, VGG
features) on the decoded colour, its chroma term rebalanced when asked, plus, when asked, ab-bin classification and
the colourfulness term."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from colorize.config import LossConfig, ModelConfig
from colorize.errors import ConfigError
from colorize.color.tensors import recolor
from colorize.losses.color import BinClassificationLoss, BinWeights, colorfulness_loss, rebalance_weights
from colorize.losses.perceptual import PerceptualLoss


def needs_prior(cfg: LossConfig) -> bool:
    """Whether the objective rebalances by the corpus's ab prior (`colorize.losses.color.ab_prior`)."""
    return bool(cfg.classification_weight) or cfg.rebalance_chroma


class Objective(nn.Module):
    """loss(rgb, target, logits) for stage 1 and the GAN's reconstruction term; see the module docstring."""

    def __init__(self, cfg: LossConfig, model_cfg: ModelConfig, prior: np.ndarray | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.classification_weight and model_cfg.head != "ab_bins":
            raise ConfigError('loss.classification_weight needs model.head = "ab_bins" (a head that predicts bins)')
        self.perceptual = PerceptualLoss(cfg)
        self.classify = self.chroma_weights = None
        if needs_prior(cfg):
            if prior is None:
                raise ConfigError("rebalancing (loss.classification_weight, loss.rebalance_chroma) needs the corpus's ab prior")
            weights = rebalance_weights(prior, cfg.rebalance_lambda)
            if cfg.classification_weight:
                self.classify = BinClassificationLoss(weights)
            if cfg.rebalance_chroma:
                self.chroma_weights = BinWeights(weights)

    @property
    def description(self) -> str:
        """What the run manifest records as the loss actually used."""
        parts = [self.perceptual.description]
        if self.chroma_weights is not None:
            parts[0] += f" (chroma rebalanced, λ {self.cfg.rebalance_lambda:g})"
        if self.classify is not None:
            parts.append(f"ab-bin cross-entropy x{self.cfg.classification_weight:g} (rebalanced, λ {self.cfg.rebalance_lambda:g})")
        if self.cfg.colorfulness_weight:
            parts.append(f"colourfulness x{self.cfg.colorfulness_weight:g}")
        return " + ".join(parts)

    def forward(self, rgb: torch.Tensor, target: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        loss = self.perceptual(rgb, target, None if self.chroma_weights is None else self.chroma_weights(target))
        if self.classify is not None:
            loss = loss + self.cfg.classification_weight * self.classify(logits, target)
        if self.cfg.colorfulness_weight:
            loss = loss + self.cfg.colorfulness_weight * colorfulness_loss(recolor(rgb.float(), target.float()))
        return loss
