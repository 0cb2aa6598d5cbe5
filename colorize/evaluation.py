"""`colorize eval`: colorize the grayscale of colour photos and score the result against the real colour."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from colorize.data import load_rgb, to_gray
from colorize.inference import Colorizer
from colorize.metrics import evaluate

log = logging.getLogger(__name__)


def evaluate_photos(
    colorizer: Colorizer, paths: Sequence[Path], max_side_px: int = 1024, progress: Callable[[int], None] = lambda n: None
) -> dict[str, dict[str, float]]:
    """Mean metrics for the model and, as the floor to beat, for the gray image itself."""
    preds, grays3, reals = [], [], []
    for path in paths:
        real = load_rgb(path, max_side_px)
        progress(1)
        if real is None:
            continue
        gray = to_gray(real)
        preds.extend(colorizer.colorize([gray]))
        grays3.append(np.repeat(gray[..., None], 3, axis=-1))
        reals.append(real)
    if not reals:
        return {}
    return {"model": evaluate(preds, reals), "gray": evaluate(grays3, reals), "n_photos": {"count": float(len(reals))}}
