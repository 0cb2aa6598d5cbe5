"""`colorize eval`: colorize the grayscale of colour photos and score the result against the real colour."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from colorize.color.ycbcr import merge, to_gray
from colorize.hint_sampling import sample_object_hints, sample_point_hints
from colorize.images import load_rgb
from colorize.pipeline import Colorizer
from colorize.metrics import evaluate, hint_effect

log = logging.getLogger(__name__)

# Where `--hints N` places its hints: fixed, so every model is scored with the same ones.
HINT_SEED = 0


def evaluate_photos(
    colorizer: Colorizer, paths: Sequence[Path], max_side_px: int = 1024, progress: Callable[[int], None] = lambda n: None,
    n_hints: int = 0, object_hints: bool = False,
) -> dict[str, dict[str, float]]:
    """Mean metrics for the model and, as the floor to beat, for the gray image itself."""
    return evaluate_groups(colorizer, paths, {}, max_side_px, progress, n_hints, object_hints=object_hints)["all"]


def evaluate_groups(
    colorizer: Colorizer, paths: Sequence[Path], group_of: dict[Path, str], max_side_px: int = 1024,
    progress: Callable[[int], None] = lambda n: None, n_hints: int = 0,
    seen: Callable[[Path, np.ndarray, np.ndarray, np.ndarray], None] | None = None, object_hints: bool = False,
) -> dict[str, dict[str, dict[str, float]]]:
    """`evaluate_photos` over all photos ("all") and over each group of `group_of` (photos it lacks count in
    "all" only); each photo is colorized once, given `n_hints` hints of its true colour (at random places, the
    same for every model: `HINT_SEED`; or with `object_hints`, one in each of its largest regions of one colour),
    and shown to `seen` as (path, gray, colorized, real)."""
    rng = np.random.default_rng(HINT_SEED)
    # (group, prediction, gray as RGB, real, (worse, better) share of pixels the hints changed)
    done: list[tuple[str | None, np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]] = []
    for path in paths:
        real = load_rgb(path, max_side_px)
        progress(1)
        if real is None:
            continue
        gray = to_gray(real)
        chroma = colorizer.model_chroma([gray])[0]  # the model's colour, once: with and without the hints
        pred = merge(gray, chroma)
        effect = (0.0, 0.0)
        if n_hints:
            hints = sample_object_hints(real, n_hints) if object_hints else sample_point_hints(real, n_hints, rng)
            plain, pred = pred, merge(gray, Colorizer.apply_hints(gray, chroma, hints))
            effect = hint_effect(plain, pred, real)
        done.append((group_of.get(path), pred, np.repeat(gray[..., None], 3, axis=-1), real, effect))
        if seen is not None:
            seen(path, gray, pred, real)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for group in ["all", *sorted({g for g, *_ in done if g})]:
        rows = [d for d in done if group == "all" or d[0] == group]
        if rows:
            _, preds, grays3, reals, effects = zip(*rows)
            model = evaluate(preds, reals)
            if n_hints:
                model["worse_share"], model["better_share"] = (float(v) for v in np.mean(effects, axis=0))
            out[group] = {"model": model, "gray": evaluate(grays3, reals), "n_photos": {"count": float(len(rows))}}
    return out if done else {"all": {}}
