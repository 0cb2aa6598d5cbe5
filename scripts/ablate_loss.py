#!/usr/bin/env python3
"""Which perceptual-loss layers help? Short stage-1 runs that differ only in the loss, scored on the held-out split.

    .venv/bin/python scripts/ablate_loss.py --data data/photos --run runs/ablate-loss [--steps 150 --size 64]

Variants: DeOldify's relu3_3/4_3/5_3 weights 20/70/10; without relu5_3 (the layer HED fine-tuning moved most
toward edges); without relu3_3; and no perceptual term (pixel + chroma L1). Each is `colorize train pretrain-gen`
with the same seed, data and steps; the table (from each run's DONE `val_metrics`) goes to docs/ablation-loss.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

VARIANTS = {
    "vgg 20/70/10 (DeOldify)": ["loss.layer_weights=[20.0, 70.0, 10.0]"],
    "vgg 20/70/0 (no relu5_3)": ["loss.layer_weights=[20.0, 70.0, 0.0]"],
    "vgg 0/70/10 (no relu3_3)": ["loss.layer_weights=[0.0, 70.0, 10.0]"],
    "pixel + chroma L1 only": ["loss.perceptual=false"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    rows = []
    for i, (name, sets) in enumerate(VARIANTS.items()):
        run = args.run / f"v{i}"
        cmd = [sys.executable, "-m", "colorize", "train", "pretrain-gen", "--data", str(args.data), "--run-dir", str(run),
               "--recipe", "recipes/default.toml", "--set", f"pretrain_gen.sizes_px=[{args.size}]",
               "--set", f"pretrain_gen.steps_per_size=[{args.steps}]"]
        for s in sets:
            cmd += ["--set", s]
        subprocess.run(cmd, check=True)
        done = json.loads((run / "1-pretrain-gen" / "DONE").read_text())
        m = done["val_metrics"]
        rows.append(f"| {name} | {m['ab_mae']:.2f} | {m['psnr']:.2f} | {m['colorfulness']:.1f} | {m['colorfulness_gap']:.1f} | {m['score']:.2f} | {done['seconds']:.0f} |")
        print(rows[-1], flush=True)
    out = Path("docs/ablation-loss.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join([
        "# Perceptual-loss ablation",
        "",
        f"Stage 1 only (`pretrain-gen`), {args.steps} steps at {args.size} px, batch 16, same seed and data for every row; "
        "metrics on the held-out split (10 photos) through the real inference path. Lower is better except PSNR "
        "(higher) and colourfulness (closer to the real photos' is better; the gap column says how far).",
        "",
        f"Command: `python scripts/ablate_loss.py {' '.join(sys.argv[1:])}`",
        "",
        "| loss | ab MAE | PSNR dB | colourfulness | colourfulness gap | score | seconds |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
