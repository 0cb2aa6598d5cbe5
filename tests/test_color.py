"""Colour objectives: CIELAB conversions, ab bins, soft encoding, rebalancing, annealed mean, the bin head."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from colorize.color.tensors import _lab_to_rgb_unclamped, ab_bins, annealed_mean, gray_to_lightness, lab_to_rgb, rgb_to_lab
from colorize.config import LossConfig, ModelConfig
from colorize.errors import ConfigError
from colorize.losses import Objective
from colorize.losses.color import BinWeights, ab_prior, colorfulness_loss, rebalance_weights, soft_encode
from colorize.models import create_generator


def test_lab_matches_opencv_and_round_trips() -> None:
    rgb = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))  # OpenCV's error varies by colour
    ref = cv2.cvtColor(rgb[0].permute(1, 2, 0).numpy(), cv2.COLOR_RGB2Lab)
    assert np.abs(rgb_to_lab(rgb)[0].permute(1, 2, 0).numpy() - ref).max() < 0.5  # OpenCV rounds its constants
    assert (lab_to_rgb(rgb_to_lab(rgb)) - rgb).abs().max() < 1e-4
    gray = torch.rand(1, 1, 4, 4)
    assert (gray_to_lightness(gray) - rgb_to_lab(gray.expand(-1, 3, -1, -1))[:, :1]).abs().max() < 1e-3


def test_every_bin_is_in_gamut() -> None:
    bins = ab_bins()
    assert 200 < len(bins) < 320 and np.all(bins % 10 == 0)
    # Each bin's cell (its centre +-5 in a and b) holds a colour that some lightness makes an sRGB colour.
    off = np.linspace(-5, 5, 11, dtype=np.float32)
    light = np.linspace(0, 100, 101, dtype=np.float32)
    da, db, ll = (t.ravel() for t in np.meshgrid(off, off, light, indexing="ij"))
    for a, b in bins:
        lab = torch.from_numpy(np.stack([ll, a + da, b + db]))[None, :, :, None]
        rgb = _lab_to_rgb_unclamped(lab)[0, :, :, 0]
        assert ((rgb >= -1e-4) & (rgb <= 1 + 1e-4)).all(dim=0).any(), (a, b)


def test_annealed_mean_of_a_bins_soft_encoding_returns_that_bin() -> None:
    centres = torch.from_numpy(ab_bins())
    target = soft_encode(centres.T.reshape(1, 2, -1, 1), centres)  # each bin's own centre, soft-encoded
    assert torch.allclose(target.sum(dim=1), torch.ones(1, len(centres), 1))
    ab = annealed_mean(torch.log(target + 1e-12), 0.38, centres)[0, :, :, 0].T
    assert (ab - centres).abs().max() < 1.0


def test_rebalancing_weights_have_mean_one_under_the_prior_and_favour_rare_bins() -> None:
    rng = np.random.default_rng(0)
    photos = [np.clip(rng.normal(120, 30, (32, 32, 3)) + [40, 0, -20], 0, 255).astype(np.uint8) for _ in range(4)]
    prior = ab_prior(photos)
    assert prior.shape == (len(ab_bins()),) and np.isclose(prior.sum(), 1)
    w = rebalance_weights(prior, 0.5)
    assert np.isclose((prior * w).sum(), 1.0, atol=1e-5)
    assert w[prior.argmin()] > w[prior.argmax()]


def test_bin_weights_are_each_pixels_nearest_bin_weight() -> None:
    weights = np.random.default_rng(0).uniform(0.1, 5, len(ab_bins())).astype(np.float32)
    rgb = torch.rand(2, 3, 16, 16)
    ab = rgb_to_lab(rgb)[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2)
    expected = torch.from_numpy(weights)[torch.cdist(ab, torch.from_numpy(ab_bins())).argmin(dim=1)]
    got = BinWeights(weights)(rgb).permute(0, 2, 3, 1).reshape(-1)
    assert got.shape == expected.shape
    assert (got == expected).float().mean() > 0.98  # the rest are ties on a cell's edge


def test_rebalanced_chroma_prefers_the_rare_saturated_color_to_the_common_gray() -> None:
    # A patch whose true colour is gray in 3 pixels of 4 and saturated red in the last: plain L1 is least for gray
    # (the median), the rebalanced L1 for red, which the corpus (mostly gray) makes rare.
    target = torch.full((1, 3, 8, 8), 0.5)
    target[:, :, :, 6:] = torch.tensor([0.8, 0.2, 0.2]).view(1, 3, 1, 1)
    corpus = [np.full((32, 32, 3), 128, np.uint8)] * 9 + [(target[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)]
    prior = ab_prior(corpus)
    gray, red = torch.full_like(target, 0.5), target[:, :, :, 7:].expand_as(target).clone()
    for rebalance, best in ((False, "gray"), (True, "red")):
        loss = Objective(LossConfig(perceptual=False, pixel_weight=0.0, rebalance_chroma=rebalance), ModelConfig(arch="tiny"), prior)
        scores = {"gray": float(loss(gray, target)), "red": float(loss(red, target))}
        assert min(scores, key=scores.get) == best, scores


def test_rebalanced_chroma_needs_the_prior() -> None:
    with pytest.raises(ConfigError, match="prior"):
        Objective(LossConfig(perceptual=False, rebalance_chroma=True), ModelConfig(arch="tiny"))


def test_colorfulness_loss_prefers_color() -> None:
    gray = torch.full((1, 3, 8, 8), 0.5)
    vivid = torch.zeros(1, 3, 8, 8)
    vivid[:, 0, :, :4], vivid[:, 2, :, 4:] = 1, 1
    assert colorfulness_loss(vivid) < colorfulness_loss(gray)


def test_bin_head_with_lower_temperature_is_more_colorful(tmp_path: Path) -> None:
    torch.manual_seed(0)
    gen = create_generator(ModelConfig(arch="tiny", head="ab_bins")).eval()
    gray = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        logits = torch.randn(1, len(ab_bins()), 8, 8)  # uncertain: no bin much likelier than the rest
        chroma = []
        for t in (1.0, 0.38, 0.1):
            lab = rgb_to_lab(gen.decode(logits, gray, t))
            chroma.append(float(lab[:, 1:].norm(dim=1).mean()))
    assert chroma[0] < chroma[1] < chroma[2]


def test_classification_needs_the_bin_head() -> None:
    with pytest.raises(ConfigError, match="model.head"):
        Objective(LossConfig(perceptual=False, classification_weight=1.0), ModelConfig(arch="tiny"))


def test_temperature_comes_from_the_checkpoint_and_vividness_moves_colorfulness(tmp_path: Path) -> None:
    from colorize.inference import load_colorizer
    from colorize.metrics import colorfulness
    from colorize.weights import save_checkpoint

    from helpers import photo_array

    torch.manual_seed(0)
    cfg = ModelConfig(arch="tiny", head="ab_bins", temperature=0.5, spectral_norm=False)
    gen = create_generator(cfg)
    with torch.no_grad():
        gen.train()(torch.rand(4, 1, 64, 64))  # settle BatchNorm statistics, as a trained model has them
        gen.unet.layers[-1][0].weight.mul_(20)  # confident logits, as a trained model's: T then matters
    path = tmp_path / "bins.pt"
    save_checkpoint(path, gen, "generator", cfg, render_factor=7)
    gray = np.asarray(photo_array(64, 64).mean(axis=2).astype(np.uint8))
    scores = {}
    for v in (0.5, 1.0, 2.0):
        c = load_colorizer(path, device="cpu", vividness=v)
        assert c.temperature == pytest.approx(0.5 / v)
        scores[v] = colorfulness(c.colorize([gray])[0])
    assert scores[0.5] < scores[1.0] < scores[2.0]


def test_vividness_scales_an_rgb_models_tuned_chroma_gain_and_keeps_luminance(tmp_path: Path) -> None:
    from colorize.inference import load_colorizer
    from colorize.metrics import colorfulness
    from colorize.weights import save_checkpoint

    from helpers import photo_array

    torch.manual_seed(0)
    cfg = ModelConfig(arch="tiny", chroma_gain=1.5, spectral_norm=False)
    path = tmp_path / "rgb.pt"
    save_checkpoint(path, create_generator(cfg), "generator", cfg, render_factor=7)
    gray = np.asarray(photo_array(64, 64).mean(axis=2).astype(np.uint8))
    scores = {}
    for v in (0.5, 1.0, 2.0):
        c = load_colorizer(path, device="cpu", vividness=v)
        assert c.chroma_gain == pytest.approx(1.5 * v)
        out = c.colorize([gray])[0]
        assert np.abs(np.asarray(Image.fromarray(out).convert("L"), np.int16) - gray).max() <= 1
        scores[v] = colorfulness(out)
    assert scores[0.5] < scores[1.0] < scores[2.0]


def test_hue_sectors_put_named_colours_where_a_person_would() -> None:
    from colorize.color.ycbcr import SECTOR_NAMES, hue_sector

    named = {"warm": [(255, 0, 0), (255, 165, 0), (224, 172, 145)], "yellow": [(255, 255, 0)],
             "green": [(0, 255, 0), (107, 142, 35), (34, 139, 34)], "blue": [(0, 255, 255), (135, 206, 235), (0, 0, 255)],
             "purple": [(128, 0, 128)], "neutral": [(128, 128, 128), (120, 122, 125)]}
    for sector, colours in named.items():
        got = hue_sector(np.array([colours], np.uint8))[0]
        assert [SECTOR_NAMES[k] for k in got] == [sector] * len(colours), sector


def test_coverage_counts_a_colour_never_painted_as_zero_recall() -> None:
    from colorize.metrics import coverage

    real = np.zeros((10, 20, 3), np.uint8)
    real[:, :10] = (34, 139, 34)  # half green
    real[:, 10:] = (135, 206, 235)  # half sky blue
    beige = real.copy()
    beige[:, :10] = (200, 180, 150)  # the model paints the leaves beige
    c = coverage([beige], [real])
    assert c["green_share_real"] == 0.5 and c["green_share"] == 0.0 and c["green_recall"] == 0.0
    assert c["blue_recall"] == 1.0 and c["yellow_share"] == 0.5  # beige reads as a pale yellow
    assert coverage([real], [real])["green_recall"] == 1.0 and np.isnan(c["purple_recall"])


def test_hint_effect_counts_pixels_made_worse_and_better() -> None:
    from colorize.metrics import hint_effect

    real = np.zeros((10, 10, 3), np.uint8)
    real[:, :5] = (200, 40, 40)  # a red object left, a green one right
    real[:, 5:] = (40, 160, 40)
    plain = np.full_like(real, 110)  # the model: gray everywhere
    hinted = plain.copy()
    hinted[:, :5] = real[:, :5]  # the red hint filled its object...
    hinted[:, 5:7] = (200, 40, 40)  # ...and leaked two columns into the green one
    worse, better = hint_effect(plain, hinted, real)
    assert worse == pytest.approx(0.2) and better == pytest.approx(0.5)
    assert hint_effect(plain, plain, real) == (0.0, 0.0)


def test_edge_error_is_measured_only_near_strong_edges() -> None:
    from colorize.metrics import ab_mae_edges

    real = np.zeros((40, 60, 3), np.uint8)
    real[:, :30] = (40, 120, 40)  # dark green left, light sky right: a strong edge at x = 30
    real[:, 30:] = (150, 190, 240)
    halo = real.copy()
    halo[:, 30:36] = (205, 170, 150)  # a pale, skin-coloured band just right of the edge, as around a head
    far = real.copy()
    far[:, 54:] = (205, 170, 150)  # the same error, far from the edge
    assert ab_mae_edges(halo, real) > 5 and ab_mae_edges(far, real) == 0
    assert np.isnan(ab_mae_edges(np.full_like(real, 90), np.full_like(real, 90)))  # no edge at all
