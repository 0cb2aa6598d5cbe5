#!/usr/bin/env python3
"""The cost of colour that follows the photo's edges: the hint solve on a real photo at 1 and 12 MP with 1, 10 and 30
point hints, beside its parts (building and factorising the system; laying the correction on) and the floors it
sits on: the model's own time on the same photo, and the merge of its colour without hints (which lays it on too).

    python scripts/bench_hints.py --runs 5            # rewrites the "hints" section of docs/benchmarks.md
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdoc import median_seconds, replace_section  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from scipy.sparse.linalg import splu  # noqa: E402

from colorize import hint_solver  # noqa: E402
from colorize.edge_aware import fit, lay_on  # noqa: E402
from colorize.color.ycbcr import merge  # noqa: E402
from colorize.hint_sampling import sample_point_hints  # noqa: E402
from colorize.engine import EngineOptions, open_colorizer  # noqa: E402
from colorize.serve import encode  # noqa: E402

PHOTO = Path(__file__).resolve().parents[1] / "samples" / "heldout_hill.jpg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    colorizer = open_colorizer(EngineOptions(None, "cpu", "onnx", None, 1))
    source = np.asarray(Image.open(PHOTO).convert("RGB"))
    rows = []
    for mp in (1, 12):
        scale = (mp * 1e6 / (source.shape[0] * source.shape[1])) ** 0.5
        rgb = cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        chroma = colorizer.model_chroma([gray])[0]
        model_s = median_seconds(lambda: colorizer.model_chroma([gray]), args.runs)
        for n in (1, 10, 30):
            hints = sample_point_hints(rgb, n, np.random.default_rng(0))
            solve_s = median_seconds(lambda: hint_solver.solve_hints(gray, chroma, hints), args.runs)
            page_s = median_seconds(lambda: encode(merge(gray, hint_solver.solve_hints(gray, chroma, hints))), args.runs)
            rows.append((f"{gray.shape[1]}x{gray.shape[0]}", n, solve_s, model_s, page_s))
        page_floor_s = median_seconds(lambda: encode(merge(gray, chroma)), args.runs)
        bilinear_s = median_seconds(lambda: cv2.resize(chroma, gray.shape[::-1], interpolation=cv2.INTER_LINEAR), args.runs)
        lay_on_s = median_seconds(lambda: lay_on(chroma, gray), args.runs)
        work = fit(*gray.shape, hint_solver.WORK_PX)
        luma = cv2.resize(gray, work[::-1], interpolation=cv2.INTER_AREA).astype(np.float64) / 255
        colour = cv2.resize(chroma, work[::-1], interpolation=cv2.INTER_AREA)
        mask = np.zeros(luma.size)
        mask[:: luma.size // 10] = hint_solver.HINT_WEIGHT
        factor_s = median_seconds(lambda: [splu((hint_solver._laplacian(luma, colour) + sp.diags(d + mask)).tocsc())
                                           for d in (hint_solver.DECAY, hint_solver.BLEND_DECAY)], args.runs)
        values = np.zeros((*work, 6), np.float32)
        detail = fit(*gray.shape, hint_solver.DETAIL_PX)
        detail_gray = cv2.resize(gray, detail[::-1], interpolation=cv2.INTER_AREA)
        correction_s = median_seconds(lambda: lay_on(values, detail_gray, hint_solver.CORRECTION_WINDOW_CELLS), args.runs)
        rows.append((f"{gray.shape[1]}x{gray.shape[0]}", "parts", factor_s, correction_s, (page_floor_s, bilinear_s, lay_on_s)))
    lines = [
        "## Hints: the solve",
        "",
        f"Device: {platform.machine()} CPU, {os.cpu_count()} cores; median of {args.runs} runs after a warm-up; photo "
        f"`samples/{PHOTO.name}` scaled to the size shown, true-colour point hints at random places, the shipped default model "
        f"at its own render factor on the ONNX engine. Command: `python scripts/bench_hints.py --runs {args.runs}`",
        "",
        f"The solve runs on a {hint_solver.WORK_PX} px grid (two sparse factorisations, a few solves) and its correction is "
        f"laid on along the photo's edges at most {hint_solver.DETAIL_PX} px on the long side (the merge lays that on the "
        "full-size photo), so its cost hardly depends on the photo's size or the number of hints. The model's colour does not depend on the hints, so a re-render in `colorize serve` after a hint change is "
        "the solve, the merge at full size and the JPEG the page shows (the last column; its floor, the merge and JPEG of "
        "the model's colour alone, is below).",
        "",
        "| photo | hints | solve ms | model ms (same photo, no hints) | page re-render ms (solve + merge + JPEG) |",
        "|---|---|---|---|---|",
    ]
    parts = []
    for size, n, a, b, c in rows:
        if n == "parts":
            floor, bilinear, laid = c
            parts.append(f"| {size} | {a * 1e3:.0f} | {b * 1e3:.0f} | {floor * 1e3:.0f} | {laid * 1e3:.0f} | {bilinear * 1e3:.0f} |")
        else:
            lines.append(f"| {size} | {n} | {a * 1e3:.0f} | {b * 1e3:.0f} | {c * 1e3:.0f} |")
    lines += ["", "Its parts (10 hints), and the floors:", "",
              "| photo | build + factorise both systems, ms | correction laid on (at most 1024 px), ms | floor: merge + JPEG, no hints, ms "
              "| the model's colour laid on (guided), ms | bilinear upsampling it replaced, ms |",
              "|---|---|---|---|---|---|", *parts]
    replace_section("bench_hints", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
