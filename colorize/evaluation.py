"""`colorize eval`: colorize the grayscale of colour photos and score the result against the real colour."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from colorize.color.ycbcr import merge, to_gray
from colorize.errors import BadInputError
from colorize.hint_sampling import sample_object_hints, sample_point_hints
from colorize.hints import Hints
from colorize.images import load_rgb
from colorize.pipeline import Colorizer
from colorize.metrics import evaluate, hint_effect
from colorize.reference import Reference

log = logging.getLogger(__name__)

# Where `--hints N` places its hints: fixed, so every model is scored with the same ones.
HINT_SEED = 0
# The easy reference of `--reference-pairs`: the photo itself, cropped to this share of each side from this offset
# (fractions of its height and width), mirrored left to right.
CROP_SHARE, CROP_OFFSET = 0.8, (0.12, 0.08)


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


def shifted_mirrored_crop(rgb: np.ndarray) -> np.ndarray:
    """The easy reference of a photo: `CROP_SHARE` of it from `CROP_OFFSET`, mirrored (another framing of the same
    scene, with nothing of it at the photo's own places)."""
    h, w = rgb.shape[:2]
    top, left = round(CROP_OFFSET[0] * h), round(CROP_OFFSET[1] * w)
    return np.ascontiguousarray(rgb[top : top + round(CROP_SHARE * h), left : left + round(CROP_SHARE * w)][:, ::-1])


def evaluate_reference_pairs(
    colorizer: Colorizer, paths: Sequence[Path], group_of: dict[Path, str], max_side_px: int = 1024,
    progress: Callable[[int], None] = lambda n: None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Each photo colorized by the model alone and with a reference: its own shifted mirrored crop ("crop", the easy
    case) and the next photo of its group ("group": another photo of the same source, most often of another scene),
    where it has one. Per case: metrics of the model alone and with the reference on the same photos, the gray
    floor, the share of photos the reference was found in and the photos' count."""
    photos = [(path, real) for path in paths if (real := load_rgb(path, max_side_px)) is not None]
    members: dict[str, list[int]] = {}
    for i, (path, _) in enumerate(photos):
        if path in group_of:
            members.setdefault(group_of[path], []).append(i)
    cases: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]]] = {"crop": [], "group": []}
    for i, (path, real) in enumerate(photos):
        gray = to_gray(real)
        chroma = colorizer.model_chroma([gray])[0]
        plain = merge(gray, chroma)
        group = members.get(group_of.get(path), [])
        partner = group[(group.index(i) + 1) % len(group)] if len(group) > 1 else None
        for case, ref_rgb in (("crop", shifted_mirrored_crop(real)), ("group", None if partner is None else photos[partner][1])):
            if ref_rgb is None:
                continue
            try:
                reference = Reference(ref_rgb, f"{case} reference of {path.name}")
            except BadInputError as e:  # a photo without colour cannot be a reference
                log.info("%s", e)
                continue
            with_ref = merge(gray, Colorizer.apply_hints(gray, chroma, Hints(reference=reference)))
            cases[case].append((plain, with_ref, real, reference.found > 0))
        progress(1)
    out = {}
    for case, rows in cases.items():
        if rows:
            plains, with_refs, reals, found = zip(*rows)
            grays3 = [np.repeat(to_gray(r)[..., None], 3, axis=-1) for r in reals]
            out[case] = {"model": evaluate(plains, reals), "reference": evaluate(with_refs, reals),
                         "gray": evaluate(grays3, reals),
                         "n_photos": {"count": float(len(rows)), "found_share": float(np.mean(found))}}
    return out
