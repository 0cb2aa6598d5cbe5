"""Adversarial losses for the GAN phase, each with its formula and source, plus the critic's regularisers.

Notation: the critic's patch logits are r = C(y) on real photos and f = C(ŷ) on generated ones, shape (B, P); σ is
the logistic function; means are over every patch of the batch. The generator's loss always takes r too, since the
relativistic loss needs it; the others ignore it.

Switching (how many critic steps per generator step) depends on what the critic loss measures:
- the classifier losses (bce, minimax, hinge, rals) train the critic until it classifies the batch's patches with
  at least `gan.crit_accuracy_threshold` accuracy (at most `gan.max_crit_iters` steps): accuracy is bounded and
  means the same for all of them, unlike a loss value;
- the Wasserstein losses (wgan, wgan-gp) estimate an unbounded distance, so no threshold means anything: they
  take a fixed `gan.max_crit_iters` critic steps per generator step (n_critic = 5 in both papers);
- began balances the two by its own controller k_t (`BeganBalance`), with one critic step per generator step as
  in the paper, unless `gan.max_crit_iters` says more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from colorize.errors import ConfigError

Logits = torch.Tensor


def _bce(logits: Logits, real: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))


def bce_critic(r: Logits, f: Logits) -> torch.Tensor:
    """−log σ(r) − log(1 − σ(f)): the critic as a real/generated classifier (Goodfellow et al. 2014)."""
    return _bce(r, True) + _bce(f, False)


def bce_generator(f: Logits, r: Logits) -> torch.Tensor:
    """Non-saturating: −log σ(f) (Goodfellow et al. 2014, §3; DeOldify, pix2pix, DDColor)."""
    return _bce(f, True)


def minimax_generator(f: Logits, r: Logits) -> torch.Tensor:
    """Saturating: log(1 − σ(f)) = −softplus(f) (Goodfellow et al. 2014, eq. 1). Its gradient −σ(f) vanishes
    exactly when the critic confidently rejects the generator's output: the textbook failure, kept to compare."""
    return -F.softplus(f).mean()


def hinge_critic(r: Logits, f: Logits) -> torch.Tensor:
    """relu(1 − r) + relu(1 + f) (Lim & Ye 2017; SAGAN, Zhang et al. 2019)."""
    return F.relu(1 - r).mean() + F.relu(1 + f).mean()


def hinge_generator(f: Logits, r: Logits) -> torch.Tensor:
    """−f (SAGAN; also WGAN's generator loss, Arjovsky et al. 2017)."""
    return -f.mean()


def wasserstein_critic(r: Logits, f: Logits) -> torch.Tensor:
    """f − r: the critic's estimate of the (negated) Wasserstein-1 distance (Arjovsky et al. 2017); WGAN-GP adds
    `gradient_penalty` (Gulrajani et al. 2017; ChromaGAN)."""
    return f.mean() - r.mean()


def rals_critic(r: Logits, f: Logits) -> torch.Tensor:
    """Relativistic average: −log σ(r − E[f]) − log(1 − σ(f − E[r])) (Jolicoeur-Martineau 2018; ESRGAN)."""
    return _bce(r - f.mean(), True) + _bce(f - r.mean(), False)


def rals_generator(f: Logits, r: Logits) -> torch.Tensor:
    """−log(1 − σ(r − E[f])) − log σ(f − E[r]): the generator wants its output judged more real than the photos."""
    return _bce(r - f.mean(), False) + _bce(f - r.mean(), True)


def wasserstein_generator(f: Logits, r: Logits) -> torch.Tensor:
    """WGAN's generator: −E[f] (Arjovsky et al. 2017), the critic's score of generated images raised."""
    return -f.mean()


def began_critic(r: Logits, f: Logits, k: float) -> torch.Tensor:
    """BEGAN's critic (Berthelot et al. 2017), r and f the autoencoder's reconstruction errors L(x), L(G(z)):
    L(x) − k_t · L(G(z)), reconstruct real photos well and generated ones badly, the second as much as k_t says."""
    return r.mean() - k * f.mean()


def began_generator(f: Logits, r: Logits) -> torch.Tensor:
    """BEGAN's generator: L(G(z)), make generated images that the critic reconstructs well."""
    return f.mean()


def clip_weights(crit: nn.Module, c: float) -> None:
    """WGAN's Lipschitz constraint: every critic weight clamped to [−c, c] after its update."""
    with torch.no_grad():
        for p in crit.parameters():
            p.clamp_(-c, c)


@dataclass
class BeganBalance:
    """BEGAN's proportional controller and convergence measure. After each generator step,
    k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1) keeps E[L(G(z))] = γ E[L(x)], and
    M = L(x) + |γ L(x) − L(G(z))| falls as the game converges (the paper's global measure)."""

    gamma: float
    lambda_k: float
    k: float = 0.0

    def update(self, loss_real: float, loss_fake: float) -> float:
        """Move k_t by one step; returns M for these losses."""
        self.k = min(max(self.k + self.lambda_k * (self.gamma * loss_real - loss_fake), 0.0), 1.0)
        return loss_real + abs(self.gamma * loss_real - loss_fake)


def classifier_accuracy(r: Logits, f: Logits) -> tuple[float, float]:
    """Fraction of real patches called real (r > 0) and of generated patches called generated (f < 0)."""
    return float((r > 0).float().mean()), float((f < 0).float().mean())


def reconstruction_accuracy(r: Logits, f: Logits) -> tuple[float, float]:
    """began's "logits" are reconstruction errors, lower for what it takes as real: real when r < E[f], generated
    when f > E[r]."""
    return float((r < f.mean()).float().mean()), float((f > r.mean()).float().mean())


def relativistic_accuracy(r: Logits, f: Logits) -> tuple[float, float]:
    """rals judges relative to the other class's mean: real when r > E[f], generated when f < E[r]."""
    return float((r > f.mean()).float().mean()), float((f < r.mean()).float().mean())


@dataclass(frozen=True)
class AdversarialLoss:
    """One `gan.loss` choice: critic and generator losses, how to read the critic's accuracy, how to switch."""

    name: str
    critic: Callable[[Logits, Logits], torch.Tensor]
    generator: Callable[[Logits, Logits], torch.Tensor]
    accuracy: Callable[[Logits, Logits], tuple[float, float]]
    gradient_penalty: bool = False
    fixed_crit_iters: bool = False
    # wgan: RMSProp for both networks and the critic's weights clipped (`clip_weights`), as Arjovsky et al. train it.
    weight_clipping: bool = False
    # began: an autoencoder critic and the k_t controller (`BeganBalance`); `critic` then takes k_t as a third argument.
    equilibrium: bool = False


ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
    "bce": AdversarialLoss("bce", bce_critic, bce_generator, classifier_accuracy),
    "minimax": AdversarialLoss("minimax", bce_critic, minimax_generator, classifier_accuracy),
    "hinge": AdversarialLoss("hinge", hinge_critic, hinge_generator, classifier_accuracy),
    # A Wasserstein critic's scores have no sign convention, only an order: its accuracy is read relatively.
    "wgan-gp": AdversarialLoss("wgan-gp", wasserstein_critic, wasserstein_generator, relativistic_accuracy,
                               gradient_penalty=True, fixed_crit_iters=True),
    "rals": AdversarialLoss("rals", rals_critic, rals_generator, relativistic_accuracy),
    "wgan": AdversarialLoss("wgan", wasserstein_critic, wasserstein_generator, relativistic_accuracy,
                            fixed_crit_iters=True, weight_clipping=True),
    "began": AdversarialLoss("began", began_critic, began_generator, reconstruction_accuracy, equilibrium=True),
}


def adversarial_loss(name: str) -> AdversarialLoss:
    """Registry lookup that fails with the list of valid names."""
    try:
        return ADVERSARIAL_LOSSES[name]
    except KeyError:
        raise ConfigError(f"gan.loss = {name!r}; choose one of: {', '.join(ADVERSARIAL_LOSSES)}") from None


def gradient_penalty(crit: nn.Module, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """λ · E[(‖∇C(x̃)‖₂ − 1)²] on x̃ = εy + (1 − ε)ŷ, ε ~ U(0, 1) per image (Gulrajani et al. 2017, λ = 10)."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(crit(mixed).sum(), mixed, create_graph=True)
    return weight * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(crit: nn.Module, real: torch.Tensor, gamma: float) -> torch.Tensor:
    """γ/2 · E[‖∇C(y)‖²] on real photos only (Mescheder et al. 2018); exactly 0 (and no extra pass) at γ = 0."""
    if gamma == 0:
        return real.new_zeros(())
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(crit(real).sum(), real, create_graph=True)
    return gamma / 2 * grad.flatten(1).pow(2).sum(dim=1).mean()


def diff_augment(x: torch.Tensor, generator: torch.Generator | None = None, shift: float = 0.125,
                 cutout: float = 0.5) -> torch.Tensor:
    """DiffAugment's translation and cutout (Zhao et al. 2020), differentiable, for (B, 3, H, W) RGB in [0, 1].

    One draw per call applies to the whole batch, so real and generated images concatenated into one batch are
    transformed alike. Only those two policies: colour jitter would teach a colour critic nothing. Uncovered and
    cut-out pixels are neutral gray (0 in the critic's [−1, 1] input), which carries no chroma.
    """
    _, _, h, w = x.shape
    rand = torch.rand(4, generator=generator).tolist()
    dy, dx = round((rand[0] * 2 - 1) * shift * h), round((rand[1] * 2 - 1) * shift * w)
    out = torch.full_like(x, 0.5)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[:, :, yd, xd] = x[:, :, ys, xs]
    ch, cw = int(h * cutout), int(w * cutout)
    cy, cx = int(rand[2] * (h - ch + 1)), int(rand[3] * (w - cw + 1))
    mask = torch.ones_like(x[:1, :1])
    mask[..., cy : cy + ch, cx : cx + cw] = 0
    return out * mask + 0.5 * (1 - mask)
