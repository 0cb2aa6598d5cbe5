#!/usr/bin/env python3
"""The hint solve's cost: `solve_hints` on a real photo at 1 and 12 MP with 1, 10 and 30 point hints, beside its
parts (building and factorising the system; the guided upsampling) and the model's own time on the same photo.

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
from colorize import hint_solver  # noqa: E402
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
        chroma = colorizer.chroma([gray])[0]
        model_s = median_seconds(lambda: colorizer.chroma([gray]), args.runs)
        for n in (1, 10, 30):
            hints = sample_point_hints(rgb, n, np.random.default_rng(0))
            solve_s = median_seconds(lambda: hint_solver.solve_hints(gray, chroma, hints), args.runs)
            page_s = median_seconds(lambda: encode(merge(gray, hint_solver.solve_hints(gray, chroma, hints))), args.runs)
            rows.append((f"{gray.shape[1]}x{gray.shape[0]}", n, solve_s, model_s, page_s))
        work = hint_solver._fit(*gray.shape, hint_solver.WORK_PX)
        luma = cv2.resize(gray, work[::-1], interpolation=cv2.INTER_AREA).astype(np.float64) / 255
        mask = np.zeros(luma.size)
        mask[:: luma.size // 10] = hint_solver.HINT_WEIGHT
        factor_s = median_seconds(lambda: hint_solver.splu(hint_solver._system(luma, mask, hint_solver.DECAY)), args.runs)
        detail = hint_solver._fit(*gray.shape, hint_solver.DETAIL_PX)
        guide = cv2.resize(gray, detail[::-1], interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        values = np.zeros((*work, 2), np.float32)
        radius = max(1, round(hint_solver.GUIDE_RADIUS_PER_WORK_PX * detail[0] / work[0]))
        upsample_s = median_seconds(lambda: hint_solver._guided_upsample(values, guide, radius), args.runs)
        rows.append((f"{gray.shape[1]}x{gray.shape[0]}", "parts", factor_s, upsample_s, None))
    lines = [
        "## Hints: the solve",
        "",
        f"Device: {platform.machine()} CPU, {os.cpu_count()} cores; median of {args.runs} runs after a warm-up; photo "
        f"`samples/{PHOTO.name}` scaled to the size shown, true-colour point hints at random places, the shipped default model "
        f"at its own render factor on the ONNX engine. Command: `python scripts/bench_hints.py --runs {args.runs}`",
        "",
        f"The solve runs on a {hint_solver.WORK_PX} px grid and its correction is upsampled to at most {hint_solver.DETAIL_PX} px, "
        "so its cost hardly depends on the photo's size or the number of hints. The model's colour does not depend on "
        "the hints, so a re-render in `colorize serve` after a hint change is the solve, the merge at full size and the "
        "JPEG the page shows (the last column; the page's floor is the model column, paid once per photo and setting).",
        "",
        "| photo | hints | solve ms | model ms (same photo, no hints) | page re-render ms (solve + merge + JPEG) |",
        "|---|---|---|---|---|",
    ]
    parts = []
    for size, n, a, b, c in rows:
        if n == "parts":
            parts.append(f"| {size} | {a * 1e3:.0f} | {b * 1e3:.0f} |")
        else:
            lines.append(f"| {size} | {n} | {a * 1e3:.0f} | {b * 1e3:.0f} | {c * 1e3:.0f} |")
    lines += ["", "Its parts (10 hints):", "", "| photo | build + factorise the system, ms | guided upsampling, ms |", "|---|---|---|", *parts]
    replace_section("bench_hints", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
