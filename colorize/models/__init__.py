"""Model factories: the generator and critic are built from their typed configs only."""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

from torch import nn

from colorize.config import CriticConfig, ModelConfig
from colorize.models.encoders import ENCODERS
from colorize.models.generator import Generator

if TYPE_CHECKING:
    from colorize.models.critic import Critic

__all__ = ["ENCODERS", "Generator", "create_critic", "create_generator", "count_parameters"]


def create_generator(cfg: ModelConfig, pretrained: bool = False, encoder_weights: Path | None = None) -> Generator:
    """Build the generator for `cfg`; `pretrained` loads ImageNet encoder weights when they are available."""
    return Generator(cfg, pretrained=pretrained, encoder_weights=encoder_weights)


def create_critic(cfg: CriticConfig) -> "Critic":
    """Build the patch critic for `cfg`. Imported here: its fastai module takes seconds to import, and inference
    never needs it."""
    from colorize.models.critic import Critic

    return Critic(cfg)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())
