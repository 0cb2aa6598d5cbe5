#!/usr/bin/env python3
"""Probe "do no harm": scale the model's chroma by its confidence, measured as the agreement between its colour for
a photo and for the photo mirrored (a model sure of a colour paints it either way round), and see whether that
lowers ab error where the model is wrong without losing the colour it gets right.

    .venv/bin/python scripts/confidence_probe.py --data data/photos --taus 0.02 0.04 0.08 --film CLIP ...

Confidence per pixel: w = clip(1 - |c - c_mirrored| / tau, 0, 1), |.| the CbCr distance (0..1 units); the chroma
becomes w * (c + c_mirrored) / 2. tau = inf keeps the plain average of the two (the ensemble alone, for
reference); "model" is the plain model. Scored on the held-out photos of both splits (random and by source) and on
film frames (every 5th of the first 150), with ab error and green and overall recall (`colorize.metrics`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from colorize.color.ycbcr import lab_ab, merge, to_gray  # noqa: E402
from colorize.corpus import held_out_photos  # noqa: E402
from colorize.images import load_rgb  # noqa: E402
from colorize.metrics import ab_mae, coverage  # noqa: E402
from colorize.engine import EngineOptions, open_colorizer  # noqa: E402


def film_frames(path: Path, n: int = 150, every: int = 5) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as inp:
        return [f.to_ndarray(format="rgb24") for k, f in zip(range(n), inp.decode(video=0)) if k % every == 0]


def variants(colorizer, gray: np.ndarray, taus: list[float]) -> dict[str, np.ndarray]:  # noqa: ANN001
    c = colorizer.model_chroma([gray])[0]
    m = colorizer.model_chroma([np.ascontiguousarray(gray[:, ::-1])])[0][:, ::-1]
    mean, gap = (c + m) / 2, np.linalg.norm(c - m, axis=-1, keepdims=True)
    out = {"model": merge(gray, c)}
    for tau in taus:
        w = 1.0 if tau == float("inf") else np.clip(1 - gap / tau, 0, 1)
        out[f"tau {tau:g}"] = merge(gray, np.ascontiguousarray((w * mean).astype(np.float32)))
    return out


def report(name: str, reals: list[np.ndarray], colorizer, taus: list[float]) -> None:  # noqa: ANN001
    preds: dict[str, list[np.ndarray]] = {}
    for real in reals:
        for k, v in variants(colorizer, to_gray(real), taus).items():
            preds.setdefault(k, []).append(v)
    gray_ab = np.mean([np.abs(lab_ab(r)).mean() for r in reals])
    print(f"\n{name}: {len(reals)} images, gray ab error {gray_ab:.2f}")
    for k, ps in preds.items():
        cov = coverage(ps, reals)
        hits = sum(cov[f"{s}_recall"] * cov[f"{s}_share_real"] for s in ("warm", "yellow", "green", "blue", "purple")
                   if not np.isnan(cov[f"{s}_recall"]))
        print(f"  {k:10} ab {np.mean([ab_mae(p, r) for p, r in zip(ps, reals)]):6.2f}   green {100 * cov['green_share']:4.1f}%"
              f" recall {100 * cov['green_recall']:4.1f}%   coloured pixels right {100 * hits:4.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--taus", type=float, nargs="+", default=[0.02, 0.04, 0.08, float("inf")])
    ap.add_argument("--film", type=Path, nargs="*", default=[])
    args = ap.parse_args()
    colorizer = open_colorizer(EngineOptions(args.weights, "cpu", "onnx", None, 1))
    for name, by_source in (("held out at random", False), ("held out by source", True)):
        paths, _ = held_out_photos(args.data, by_source=by_source)
        report(name, [r for r in (load_rgb(p, 512) for p in paths) if r is not None], colorizer, args.taus)
    for clip in args.film:
        report(f"film {clip.name}", film_frames(clip), colorizer, args.taus)


if __name__ == "__main__":
    main()
