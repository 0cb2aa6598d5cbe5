#!/usr/bin/env python3
"""The picture of the model's colour laid on along the photo's edges: a gray sample photo colorized by the default
model, its colour brought to full size by bilinear upsampling (as colorize did before) and by the guided lay-on
(`colorize.edge_aware`), side by side, cropped where a dark head meets a light sky.

    python scripts/lay_on_card.py            # writes docs/images/lay-on-halo.jpg
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from colorize.color.ycbcr import merge  # noqa: E402
from colorize.engine import EngineOptions, open_colorizer  # noqa: E402
from colorize.sheets import contact_sheet  # noqa: E402

PHOTO = ROOT / "samples" / "cameraman.png"
CROP = (slice(0, 300), slice(100, 400))  # rows, cols of the 512 px photo: the head against the sky


def main() -> None:
    gray = np.asarray(Image.open(PHOTO).convert("L").resize((512, 512), Image.Resampling.LANCZOS))
    chroma = open_colorizer(EngineOptions(device="cpu")).model_chroma([gray])[0]
    bilinear = merge(gray, cv2.resize(chroma, gray.shape[::-1], interpolation=cv2.INTER_LINEAR))  # at full size: as is
    laid_on = merge(gray, chroma)
    sheet = contact_sheet([[bilinear[CROP], laid_on[CROP]]], col_labels=("upsampled (before)", "laid on along edges"), cell_px=300)
    Image.fromarray(sheet).save(ROOT / "docs" / "images" / "lay-on-halo.jpg", quality=90)


if __name__ == "__main__":
    main()
