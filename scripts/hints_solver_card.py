#!/usr/bin/env python3
"""The model card's hint numbers and pictures: the default model on the held-out photos with true-colour hints, at
random places and one per largest region of one colour ("object hints", how a person hints), per group; and a
picture of one click colouring a whole object.

    python scripts/hints_solver_card.py --data data/photos --photo data/photos/mate-backgrounds__LadyBird.jpg

Prints the markdown table for docs/model-card.md; writes docs/images/hints-solve-curve.png and
docs/images/hints-one-click.jpg.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from colorize.color.ycbcr import to_gray  # noqa: E402
from colorize.corpus import held_out_photos  # noqa: E402
from colorize.evaluation import evaluate_groups  # noqa: E402
from colorize.hint_sampling import sample_object_hints  # noqa: E402
from colorize.images import load_rgb  # noqa: E402
from colorize.engine import EngineOptions, open_colorizer  # noqa: E402
from colorize.sheets import contact_sheet  # noqa: E402
from hints_card import mark  # noqa: E402

IMAGES = ROOT / "docs" / "images"
RANDOM = (0, 1, 2, 5, 10, 20)
OBJECTS = (1, 3, 5, 10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--photo", type=Path, action="append", required=True, help="a held-out colour photo for the one-click picture")
    args = ap.parse_args()
    colorizer = open_colorizer(EngineOptions(None, "cpu", "auto", None, 1))
    val, group_of = held_out_photos(args.data)
    results = {("random", n): evaluate_groups(colorizer, val, group_of, n_hints=n) for n in RANDOM}
    results |= {("objects", n): evaluate_groups(colorizer, val, group_of, n_hints=n, object_hints=True) for n in OBJECTS}
    groups = list(results[("random", 0)])
    none = results[("random", 0)]
    print("| hints | " + " | ".join(f"{g} ({int(none[g]['n_photos']['count'])})" for g in groups) + " |")
    print("|---|" + "---|" * len(groups))
    print("| gray image | " + " | ".join(f"{none[g]['gray']['ab_mae']:.2f} / {none[g]['gray']['psnr']:.1f}" for g in groups) + " |")
    for (kind, n), res in results.items():
        label = "none" if n == 0 else f"{n} {'at random' if kind == 'random' else 'object'}"
        cells = []
        for g in groups:
            m, base = res[g]["model"], none[g]["model"]["ab_mae"]
            cut = "" if n == 0 else f" ({100 * (1 - m['ab_mae'] / base):+.0f} %)".replace("+", "−")
            cells.append(f"{m['ab_mae']:.2f}{cut} / {m['psnr']:.1f}")
        print(f"| {label} | " + " | ".join(cells) + " |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(RANDOM, [results[("random", n)]["all"]["model"]["ab_mae"] for n in RANDOM], "o-", label="hints at random places")
    ax.plot((0, *OBJECTS), [none["all"]["model"]["ab_mae"], *(results[("objects", n)]["all"]["model"]["ab_mae"] for n in OBJECTS)],
            "s-", label="one hint per largest region")
    ax.axhline(none["all"]["gray"]["ab_mae"], color="gray", ls=":", label="gray image")
    ax.set_xlabel("true-colour hints per photo")
    ax.set_ylabel("ab error (lower is better)")
    ax.set_title(f"default model, {len(val)} held-out photos")
    ax.legend()
    fig.tight_layout()
    fig.savefig(IMAGES / "hints-solve-curve.png", dpi=110)

    rows = []
    for photo in args.photo:
        real = load_rgb(photo, 1024)
        gray = to_gray(real)
        click = sample_object_hints(real, 1)
        plain, hinted = colorizer.colorize([gray, gray], [None, click])
        rows.append([np.repeat(gray[..., None], 3, axis=2), plain, mark(hinted, click), real])
    sheet = contact_sheet(rows, col_labels=("gray", "default model", "one click (the dot)", "real colour"), cell_px=320)
    Image.fromarray(sheet).save(IMAGES / "hints-one-click.jpg", quality=90)


if __name__ == "__main__":
    main()
