"""Model factories: the generator and critic are built from their typed configs only."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from colorize.config import ModelConfig
from colorize.models.encoders import ENCODERS
from colorize.models.generator import Generator

__all__ = ["ENCODERS", "Generator", "create_generator", "count_parameters"]


def create_generator(cfg: ModelConfig, pretrained: bool = False, encoder_weights: Path | None = None) -> Generator:
    """Build the generator for `cfg`; `pretrained` loads ImageNet encoder weights when they are available."""
    return Generator(cfg, pretrained=pretrained, encoder_weights=encoder_weights)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())
