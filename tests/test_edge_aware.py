"""Colour laid on the photo along its edges (colorize/edge_aware.py): a colour blurred at low resolution lands on
the photo's own edge, with no halo, and never leaves the range of the colour it was given."""

from __future__ import annotations

import cv2
import numpy as np

from colorize.edge_aware import lay_on


def _edge_photo() -> tuple[np.ndarray, np.ndarray]:
    """A 512 px photo, dark left of column 300 and light right of it, and a (32, 32, 2) colour that is one colour on
    the dark side and another on the light side, blurred over a few cells as a network's colour is."""
    gray = np.full((512, 512), 60, np.uint8)
    gray[:, 300:] = 200
    side = (np.arange(32) + 0.5) * 16 >= 300
    colour = np.where(side[None, :, None], np.float32((-0.1, 0.1)), np.float32((0.1, -0.1))).repeat(32, 0)
    return gray, cv2.GaussianBlur(colour, (0, 0), 1.5)


def test_colour_blurred_at_low_resolution_lands_on_the_photos_edge() -> None:
    gray, colour = _edge_photo()
    laid = lay_on(colour, gray)
    bilinear = cv2.resize(colour, (512, 512), interpolation=cv2.INTER_LINEAR)
    # 12 px either side of the edge: mostly the side's own colour (Cb 0.1 dark, -0.1 light), where bilinear upsampling
    # leaves a band of the other side's.
    assert laid[:, 288:300, 0].min() > 0.07 and laid[:, 300:312, 0].max() < -0.07  # 70 % of it, or more
    assert bilinear[:, 288:300, 0].min() < 0.03 and bilinear[:, 300:312, 0].max() > -0.03


def test_laid_on_colour_stays_within_the_range_it_was_given() -> None:
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (300, 400), dtype=np.uint8)
    colour = rng.normal(0, 0.1, (24, 32, 2)).astype(np.float32)
    laid = lay_on(colour, gray)
    assert laid.shape == (300, 400, 2)
    assert laid.min() >= colour.min() - 1e-6 and laid.max() <= colour.max() + 1e-6
