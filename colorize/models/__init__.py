"""Model factories: the generator and critic are built from their typed configs only."""

from __future__ import annotations

from pathlib import Path


from torch import nn

from colorize.config import CriticConfig, ModelConfig
from colorize.models.encoders import ENCODERS
from colorize.models.generator import Generator

__all__ = ["ENCODERS", "Generator", "create_critic", "create_generator", "count_parameters"]


def create_generator(cfg: ModelConfig, pretrained: bool = False, encoder_weights: Path | None = None) -> Generator:
    """Build the generator for `cfg`; `pretrained` loads ImageNet encoder weights when they are available."""
    return Generator(cfg, pretrained=pretrained, encoder_weights=encoder_weights)


def create_critic(cfg: CriticConfig, autoencoder: bool = False) -> nn.Module:
    """Build the patch critic for `cfg`, or with `autoencoder` BEGAN's. Imported here: its fastai module takes
    seconds to import, and inference never needs it."""
    from colorize.models.critic import AutoencoderCritic, Critic

    return AutoencoderCritic(cfg) if autoencoder else Critic(cfg)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())
