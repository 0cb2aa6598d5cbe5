"""The GAN losses and the critic's regularisers, on random batches and toy critics."""

import pytest
import torch
from torch import nn

from colorize.config import CriticConfig
from colorize.color.tensors import rgb_to_chroma
from colorize.losses import ADVERSARIAL_LOSSES
from colorize.losses.adversarial import BeganBalance, clip_weights, diff_augment, gradient_penalty, r1_penalty
from colorize.models import create_critic
from colorize.models.critic import remove_spectral_norm


@pytest.mark.parametrize("name", list(ADVERSARIAL_LOSSES))
def test_every_loss_is_finite_with_gradients_for_both_networks(name: str) -> None:
    torch.manual_seed(0)
    adv = ADVERSARIAL_LOSSES[name]
    crit = create_critic(CriticConfig(base_channels=8, n_blocks=1), autoencoder=adv.equilibrium)
    gen_out = torch.rand(4, 3, 32, 32, requires_grad=True)  # stands for the generator's output
    real = torch.rand(4, 3, 32, 32)
    r, f = crit(real), crit(gen_out)
    lc = adv.critic(r, f, 0.5) if adv.equilibrium else adv.critic(r, f)
    if adv.gradient_penalty:
        lc = lc + gradient_penalty(crit, real, gen_out)
    crit_grads = torch.autograd.grad(lc, list(crit.parameters()), allow_unused=True)
    assert torch.isfinite(lc) and any(g is not None and g.abs().sum() > 0 for g in crit_grads)
    lg = adv.generator(crit(gen_out), r.detach())
    (g,) = torch.autograd.grad(lg, gen_out)
    assert torch.isfinite(lg) and torch.isfinite(g).all() and g.abs().sum() > 0


@pytest.mark.parametrize("name", ["bce", "hinge"])
def test_classifier_losses_move_the_critic_towards_separating_real_from_fake(name: str) -> None:
    torch.manual_seed(0)
    adv = ADVERSARIAL_LOSSES[name]
    crit = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 1))
    real, fake = torch.full((8, 3, 8, 8), 0.8), torch.full((8, 3, 8, 8), 0.2)
    opt = torch.optim.SGD(crit.parameters(), lr=0.05)
    def margin() -> float:
        with torch.no_grad():
            return float(crit(real).mean() - crit(fake).mean())
    before = margin()
    for _ in range(200):
        loss = adv.critic(crit(real), crit(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
    acc_real, acc_fake = adv.accuracy(crit(real), crit(fake))
    assert margin() > before + 0.5 and acc_real == 1.0 and acc_fake == 1.0


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic_and_positive_otherwise() -> None:
    torch.manual_seed(0)
    real, fake = torch.rand(6, 3, 4, 4), torch.rand(6, 3, 4, 4)
    w = torch.randn(3 * 4 * 4)
    unit = lambda x: x.flatten(1) @ (w / w.norm())  # noqa: E731  (gradient norm exactly 1 everywhere)
    steep = lambda x: x.flatten(1) @ (3 * w / w.norm())  # noqa: E731
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-8)
    assert gradient_penalty(steep, real, fake).item() == pytest.approx(10 * 4.0, rel=1e-5)


def test_r1_is_zero_at_gamma_zero_and_positive_otherwise() -> None:
    crit = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    real = torch.rand(2, 3, 2, 2)
    assert r1_penalty(crit, real, 0.0).item() == 0.0
    assert r1_penalty(crit, real, 2.0).item() == pytest.approx(float(crit[1].weight.pow(2).sum()), rel=1e-5)


def test_diffaugment_moves_the_whole_batch_alike_and_adds_no_color() -> None:
    torch.manual_seed(1)
    base = torch.rand(1, 3, 16, 16)
    batch = base.repeat(3, 1, 1, 1)
    out = diff_augment(batch, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])  # one transform for the whole batch
    assert not torch.equal(out, batch)
    # Every output pixel is an input pixel or neutral gray: no colour is made up or shifted.
    chroma_in = rgb_to_chroma(base).flatten(2)[0].T  # (H*W, 2)
    for px in rgb_to_chroma(out[:1]).flatten(2)[0].T:
        assert px.abs().max() < 1e-6 or (chroma_in - px).abs().amax(dim=1).min() < 1e-6
    x = batch.clone().requires_grad_(True)
    diff_augment(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_weight_clipping_keeps_every_critic_weight_within_c_after_a_step() -> None:
    torch.manual_seed(0)
    crit = create_critic(CriticConfig(base_channels=8, n_blocks=1))
    remove_spectral_norm(crit)  # as the GAN phase does for wgan
    opt = torch.optim.RMSprop(crit.parameters(), lr=0.5)  # a large step, to push weights out
    loss = ADVERSARIAL_LOSSES["wgan"].critic(crit(torch.rand(4, 3, 32, 32)), crit(torch.rand(4, 3, 32, 32)))
    loss.backward()
    opt.step()

    def used_weights() -> list[torch.Tensor]:  # what the layers compute with, not spectral norm's raw weights
        return [m.weight for m in crit.modules() if isinstance(getattr(m, "weight", None), torch.Tensor)]

    assert max(float(w.abs().max()) for w in used_weights()) > 0.01
    clip_weights(crit, 0.01)
    assert max(float(p.abs().max()) for p in crit.parameters()) <= 0.01
    assert max(float(w.abs().max()) for w in used_weights()) <= 0.01
    assert not any(hasattr(m, "weight_orig") for m in crit.modules())


def test_began_k_stays_in_0_1_and_moves_as_the_equilibrium_demands() -> None:
    balance = BeganBalance(gamma=0.5, lambda_k=0.1, k=0.5)
    m = balance.update(loss_real=1.0, loss_fake=0.2)  # generated images too easy: γL(x) > L(G(z)), so k rises
    assert balance.k == pytest.approx(0.5 + 0.1 * (0.5 - 0.2)) and m == pytest.approx(1.0 + abs(0.5 - 0.2))
    balance.update(loss_real=0.2, loss_fake=1.0)  # the critic is losing on generated images: k falls
    assert balance.k == pytest.approx(0.53 + 0.1 * (0.1 - 1.0))
    for _ in range(100):
        balance.update(loss_real=0.0, loss_fake=5.0)
    assert balance.k == 0.0
    for _ in range(100):
        balance.update(loss_real=5.0, loss_fake=0.0)
    assert balance.k == 1.0


def test_minibatch_std_adds_one_channel_equal_to_the_batchs_mean_standard_deviation() -> None:
    from colorize.models.critic import MinibatchStd

    x = torch.randn(6, 4, 5, 5)
    out = MinibatchStd()(x)
    assert out.shape == (6, 5, 5, 5) and torch.equal(out[:, :4], x)
    assert torch.allclose(out[:, 4], (x.var(dim=0, unbiased=False) + 1e-8).sqrt().mean().expand(6, 5, 5))
    crit = create_critic(CriticConfig(base_channels=8, n_blocks=1, minibatch_std=True, equalized_lr=True))
    assert crit(torch.rand(4, 3, 32, 32)).shape == create_critic(CriticConfig(base_channels=8, n_blocks=1))(torch.rand(4, 3, 32, 32)).shape
