"""The critics: fastai's `gan_critic`, DeOldify's patch critic (spectral-norm convs, LeakyReLU, dropout, one
self-attention layer) producing one logit per image patch, with ProGAN's two critic options; and BEGAN's
autoencoder critic, whose output is each image's reconstruction error."""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn
from torch.nn.utils import parametrize

from colorize.config import CriticConfig

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from fastai.vision.gan import gan_critic


class MinibatchStd(nn.Module):
    """ProGAN's minibatch standard deviation (Karras et al. 2018): each feature's standard deviation at each place
    over the batch, averaged to one number and appended as a constant channel, so the critic sees a batch that
    lacks variety (mode collapse) as such."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = (x.float().var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        return torch.cat([x, std.to(x.dtype).expand(x.shape[0], 1, *x.shape[2:])], dim=1)


class EqualizedLR(nn.Module):
    """ProGAN's equalised learning rate as a parametrization: weights are stored N(0, 1) and scaled at every use by
    He's constant sqrt(2 / fan_in), so every layer learns at the same pace under Adam."""

    def __init__(self, fan_in: int) -> None:
        super().__init__()
        self.scale = math.sqrt(2 / fan_in)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.scale


def equalize_lr(model: nn.Module) -> None:
    """Give every convolution of `model` an equalised learning rate (its spectral norm, if any, still applies)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            name = "weight_orig" if hasattr(m, "weight_orig") else "weight"
            weight = getattr(m, name)
            with torch.no_grad():
                weight.normal_()
            parametrize.register_parametrization(m, name, EqualizedLR(weight[0].numel()))


def remove_spectral_norm(model: nn.Module) -> None:
    """Use each spectral-norm layer's current normalised weight as a plain weight. WGAN's clipping needs this: it
    bounds the weights the critic computes with, and spectral norm would rescale the clamped raw weights back to
    spectral norm 1, undoing it."""
    for m in model.modules():
        if hasattr(m, "weight_orig"):
            nn.utils.remove_spectral_norm(m)


class Critic(nn.Module):
    """(B, 3, H, W) RGB in [0, 1] -> (B, P) patch logits (real > 0 > generated)."""

    def __init__(self, cfg: CriticConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.net = gan_critic(n_channels=3, nf=cfg.base_channels, n_blocks=cfg.n_blocks, p=cfg.dropout)
        if cfg.minibatch_std:  # before the last convolution, which takes the extra channel
            last = self.net[-2][0]
            conv = nn.Conv2d(last.in_channels + 1, last.out_channels, last.kernel_size, last.stride, last.padding, bias=False)
            self.net[-2][0] = nn.utils.spectral_norm(conv) if hasattr(last, "weight_orig") else conv
            self.net.insert(len(self.net) - 2, MinibatchStd())
        if cfg.equalized_lr:
            equalize_lr(self.net)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.net(rgb * 2 - 1)


class AutoencoderCritic(nn.Module):
    """BEGAN's critic (Berthelot et al. 2017): an autoencoder of colour images; its output, (B, 1), is each image's
    mean absolute reconstruction error L. Real photos should reconstruct well, generated ones badly. Convolutional
    down to 1/2^n_blocks of the size and back (the paper's has a fully connected bottleneck, which would fix the
    image size); ELU activations and nearest upsampling as in the paper."""

    def __init__(self, cfg: CriticConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = [cfg.base_channels * 2**i for i in range(cfg.n_blocks + 1)]
        down: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1), nn.ELU()]
        for a, b in zip(widths, widths[1:]):
            down += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ELU()]
        up: list[nn.Module] = []
        for a, b in zip(widths[::-1], widths[-2::-1]):
            up += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(a, b, 3, padding=1), nn.ELU()]
        self.encoder, self.decoder = nn.Sequential(*down), nn.Sequential(*up, nn.Conv2d(widths[0], 3, 3, padding=1))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        x = rgb * 2 - 1
        return (self.decoder(self.encoder(x)) - x).abs().mean(dim=(1, 2, 3))[:, None]
