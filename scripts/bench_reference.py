#!/usr/bin/env python3
"""The cost of colour from a reference photo: reading the reference once (its keypoints and its mirror image's),
then per photo finding it (keypoints, matching, homographies, the warp and its agreement) and the solve with its
matches, at 1 and 12 MP, beside the floors: the model's own time on the same photo and the solve of 10 point hints.

    python scripts/bench_reference.py --runs 5     # rewrites the "bench_reference" section of docs/benchmarks.md

The photo is a corpus photo (`python scripts/get_photos.py data/photos`), its reference its own shifted mirrored crop
(`colorize eval --reference-pairs`' easy case) at 1 MP.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import median_seconds, replace_section  # noqa: E402

from colorize import hint_solver  # noqa: E402
from colorize.edge_aware import fit  # noqa: E402
from colorize.engine import EngineOptions, open_colorizer  # noqa: E402
from colorize.evaluation import shifted_mirrored_crop  # noqa: E402
from colorize.hint_sampling import sample_point_hints  # noqa: E402
from colorize.hints import Hints  # noqa: E402
from colorize.reference import Reference  # noqa: E402


def scaled(rgb: np.ndarray, megapixels: float) -> np.ndarray:
    """`rgb` resized to about `megapixels`."""
    scale = (megapixels * 1e6 / (rgb.shape[0] * rgb.shape[1])) ** 0.5
    return cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--photo", type=Path, default=ROOT / "data" / "photos" / "scratch__silos.jpg")
    args = ap.parse_args()
    colorizer = open_colorizer(EngineOptions(None, "cpu", "onnx", None, 1))
    source = np.asarray(Image.open(args.photo).convert("RGB"))
    reference_rgb = shifted_mirrored_crop(scaled(source, 1))
    read_s = median_seconds(lambda: Reference(reference_rgb, "reference").views, args.runs)  # keypoints found when first used
    reference = Reference(reference_rgb, "reference")
    rows = []
    for mp in (1, 12):
        rgb = scaled(source, mp)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        chroma = colorizer.model_chroma([gray])[0]
        work = fit(*gray.shape, hint_solver.WORK_PX)
        model_s = median_seconds(lambda: colorizer.model_chroma([gray]), args.runs)
        def find():  # the reference keeps its last match (the page re-renders one photo): forget it
            reference._last = None
            return reference.match(gray, work)

        def total():
            reference._last = None
            return hint_solver.solve_hints(gray, chroma, Hints(reference=reference))

        find_s, total_s = median_seconds(find, args.runs), median_seconds(total, args.runs)
        points = Hints(sample_point_hints(rgb, 10, np.random.default_rng(0)).points)
        solve_s = median_seconds(lambda: hint_solver.solve_hints(gray, chroma, points), args.runs)
        share = float(reference.match(gray, work).weight.mean())
        rows.append(f"| {gray.shape[1]}x{gray.shape[0]} | {find_s * 1e3:.0f} | {(total_s - find_s) * 1e3:.0f} | "
                    f"**{total_s * 1e3:.0f}** | {100 * share:.0f} | {solve_s * 1e3:.0f} | {model_s * 1e3:.0f} |")
    lines = [
        "## Colour from a reference photo",
        "",
        f"Device: {platform.machine()} CPU, {os.cpu_count()} cores; median of {args.runs} runs after a warm-up; photo "
        f"`{args.photo.name}` (corpus) scaled to the size shown, its reference its own shifted mirrored crop at "
        f"{reference_rgb.shape[1]}x{reference_rgb.shape[0]}; the shipped default model at its own render factor on the "
        f"ONNX engine. Command: `python scripts/bench_reference.py --runs {args.runs}`",
        "",
        f"Reading the reference (decoded already; its keypoints and its mirror image's), once for a folder or a film: "
        f"{read_s * 1e3:.0f} ms. Per photo, beyond the model: finding the reference (keypoints found at "
        "768 px on the long side, matched, homographies, the warp and its agreement on the solve's grid) and the solve "
        "with its matches as hints.",
        "",
        "| photo | find ms | solve ms | **total beyond the model, ms** | grid matched % | floor: solve of 10 point hints, ms "
        "| floor: the model, ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
    replace_section("bench_reference", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
