#!/usr/bin/env python3
"""Compare the generator objectives at equal data and budget: L1 regression (the recipe's pixel + chroma + VGG),
ab-bin classification (Zhang et al. 2016), and regression + DDColor's colourfulness term.

    .venv/bin/python scripts/compare_objectives.py --data data/photos --runs runs/objectives [--steps 2000] [--size 112]

Each arm is stage 1 of the recipe (`colorize train pretrain-gen`) with the same data, seed, size and number of
steps, one process per arm with one torch thread, all at once (2 cores, 3 arms: each gets about two thirds of a
core). An arm is an ordinary run folder, so an interrupted comparison resumes and a finished arm is skipped. Every
arm is then scored on the held-out split, per group (landscapes, objects, people), through the real inference path
at the render factor of its training size, beside the gray image and the shipped model; the table replaces the
generated section of docs/objectives.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import replace_section  # noqa: E402
from colorize.data import list_photos, read_manifest, split_photos  # noqa: E402
from colorize.evaluation import evaluate_groups  # noqa: E402
from colorize.inference import Colorizer, render_factor_for  # noqa: E402

DOC = ROOT / "docs" / "objectives.md"
ARMS = {
    "regression": [],
    "classification": ['model.head="ab_bins"', "loss.classification_weight=1.0", "loss.perceptual=false",
                       "loss.pixel_weight=0.0", "loss.chroma_weight=0.0"],
    "regression + colourfulness": ["loss.colorfulness_weight=0.5"],
}


def arm_command(name: str, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "colorize", "train", "pretrain-gen", "--data", str(args.data),
           "--run-dir", str(args.runs / name.replace(" + ", "+").replace(" ", "-")), "--recipe", str(args.recipe),
           "--set", f"pretrain_gen.sizes_px=[{args.size}]", "--set", f"pretrain_gen.steps_per_size=[{args.steps}]"]
    for s in ARMS[name]:
        cmd += ["--set", s]
    return cmd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--runs", type=Path, default=Path("runs/objectives"))
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "default.toml")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--size", type=int, default=112, help="training crop size; scored at render factor size / 16")
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    args = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = {name: subprocess.Popen(arm_command(name, args), env=env) for name in args.arms}
    failed = [name for name, p in procs.items() if p.wait() != 0]
    if failed:
        sys.exit(f"arms failed: {', '.join(failed)}")

    _, val = split_photos(list_photos(args.data), args.data, 0.1)
    groups = {p: read_manifest(args.data).get(p.relative_to(args.data).as_posix(), {}).get("group", "other") for p in val}
    rf = render_factor_for(args.size)
    models = {name: args.runs / name.replace(" + ", "+").replace(" ", "-") / "1-pretrain-gen" / "gen.pt" for name in args.arms}
    models["shipped default (v3, not retrained)"] = None
    results = {}
    for name, weights in models.items():
        results[name] = evaluate_groups(Colorizer.from_weights(weights, device="cpu", render_factor=rf, batch_size=1), val, groups)
        print(name, json.dumps({g: round(r["model"]["ab_mae"], 3) for g, r in results[name].items()}), flush=True)
    first = next(iter(results.values()))
    order = [g for g in ("all", "landscapes", "objects", "people") if g in first]
    table = ["| model | " + " | ".join(f"{g} ({int(first[g]['n_photos']['count'])}): ab / colourfulness / gap" for g in order) + " |",
             "|---|" + "---|" * len(order)]
    for name, res in [*results.items(), ("gray image", {g: {"model": first[g]["gray"]} for g in order})]:
        cells = [f"{res[g]['model']['ab_mae']:.2f} / {res[g]['model']['colorfulness']:.1f} / {res[g]['model']['colorfulness_gap']:.1f}" for g in order]
        table.append(f"| {name} | " + " | ".join(cells) + " |")
    body = (f"Command: `.venv/bin/python scripts/compare_objectives.py {' '.join(sys.argv[1:])}`: stage 1 only, "
            f"{args.steps} steps at {args.size} px, batch and everything else from `{args.recipe.name}`; scored at "
            f"render factor {rf} on the held-out split. Real photos' colourfulness: "
            + ", ".join(f"{g} {first[g]['model']['colorfulness_real']:.1f}" for g in order)
            + ". ab = mean CIELAB a*b* error (lower is better); gap = |colourfulness − real| (lower is better).\n\n"
            + "\n".join(table))
    replace_section("compare_objectives", body, doc=DOC)
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
