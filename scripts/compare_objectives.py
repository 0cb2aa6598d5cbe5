#!/usr/bin/env python3
"""Compare the generator objectives at equal data and budget: L1 regression (the recipe's pixel + chroma + VGG),
ab-bin classification (Zhang et al. 2016), regression + DDColor's colourfulness term, and regression with the
ImageNet encoder truly frozen (weights and BatchNorm statistics).

    .venv/bin/python scripts/compare_objectives.py --data data/photos --runs runs/objectives [--steps 2000] [--size 112]

Each arm is stage 1 of the recipe (`colorize train pretrain-gen`) with the same data, seed, size and number of
steps, one process per arm, all at once (on a CPU each gets one torch thread). An arm is an ordinary run folder, so
an interrupted comparison resumes. Every arm is then scored on the held-out split, per group (landscapes, objects,
people), through the real inference path at the render factor of its training size, beside the gray image and
the reference model (the shipped v3 unless told otherwise), on the split the recipe names (`data.split`: random
or by-source). Each arm is decoded as export would ship it: its temperature (ab bins) or chroma gain (regression)
tuned by the GAN stage's rule (`tune_decoding`) on the recipe's validation photos, the scored photos themselves at
`gan.size_px`, so every arm is flattered alike. The table, with each model's green share and recall (does it ever
paint green, and where it should?), replaces a generated section of docs/objectives.md (`--section`), and
`RUNS/winner.json` names the arm to ship (`pick`: the rule).

Each model's scores are kept beside it (`ARM/scores.json`, `reference-scores.json`): an arm that has its scores
is done, so arms trained on one machine (a GPU's, say, with `--device cuda --set data.num_workers=4`) and brought
back with only their scores are tabled beside a reference scored here on the same photos.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import replace_section  # noqa: E402
from colorize.config import load_recipe, parse_override  # noqa: E402
from colorize.corpus import held_out_photos  # noqa: E402
from colorize.evaluation import evaluate_groups  # noqa: E402
from colorize.inference import load_colorizer, torch_colorizer  # noqa: E402
from colorize.pipeline import InferenceConfig, render_factor_for  # noqa: E402
from colorize.train.common import init_distributed  # noqa: E402
from colorize.train.recipe import tune_decoding  # noqa: E402
from colorize.weights import load_generator  # noqa: E402

DOC = ROOT / "docs" / "objectives.md"
ARMS = {
    "regression": [],
    "classification": ['model.head="ab_bins"', "loss.classification_weight=1.0", "loss.perceptual=false",
                       "loss.pixel_weight=0.0", "loss.chroma_weight=0.0"],
    "regression + colourfulness": ["loss.colorfulness_weight=0.5"],
    "frozen encoder": ["pretrain_gen.frozen_fraction=1.0", "pretrain_gen.freeze_encoder_bn=true"],
}
REFERENCE = ROOT / "weights" / "colorize-lite0-v3.pt"


def arm_dir(runs: Path, name: str) -> Path:
    """The run folder of arm `name`."""
    return runs / name.replace(" + ", "+").replace(" ", "-")


def arm_command(name: str, args: argparse.Namespace) -> list[str]:
    """`colorize train pretrain-gen` for arm `name`."""
    cmd = [sys.executable, "-m", "colorize", "train", "pretrain-gen", "--data", str(args.data), "--device", args.device,
           "--run-dir", str(arm_dir(args.runs, name)), "--recipe", str(args.recipe),
           "--set", f"pretrain_gen.sizes_px=[{args.size}]", "--set", f"pretrain_gen.steps_per_size=[{args.steps}]"]
    for s in [*ARMS[name], *args.set]:
        cmd += ["--set", s]
    return cmd


def scores(weights: Path | None, out: Path, args: argparse.Namespace, val: list[Path], groups: dict[Path, str],
           arm: str | None = None) -> dict:
    """`weights`' per-group held-out scores, computed once and kept in `out`; an arm's with its decoding tuned
    (`decoding`: the knob and its value), a reference model's with its own settings."""
    if out.is_file():
        return json.loads(out.read_text())
    settings = dict(device=args.device, render_factor=render_factor_for(args.size), batch_size=1, fp32=True)
    result = {}
    if arm is None:
        colorizer = load_colorizer(weights, **settings)
    else:
        model, meta = load_generator(weights)
        cfg = load_recipe(args.recipe, dict(parse_override(o) for o in [*ARMS[arm], *args.set]))
        ctx = init_distributed(out.parent, args.data, force=False, device=args.device)
        inference, _ = tune_decoding(model, InferenceConfig.from_checkpoint(meta), cfg, ctx)
        knob = "temperature" if inference.temperature is not None else "chroma_gain"
        result["decoding"] = {knob: getattr(inference, knob)}
        colorizer = torch_colorizer(model, inference=inference, **settings)
    result |= evaluate_groups(colorizer, val, groups)
    out.write_text(json.dumps(result, indent=1))
    return result


def pick(results: dict[str, dict]) -> str:
    """The arm to ship: the smallest colourfulness gap among arms whose ab error beats the gray image's; if none
    does, the lowest ab error (all photos)."""
    overall = {name: res["all"] for name, res in results.items()}
    beat_gray = [n for n, r in overall.items() if r["model"]["ab_mae"] < r["gray"]["ab_mae"]]
    if beat_gray:
        return min(beat_gray, key=lambda n: overall[n]["model"]["colorfulness_gap"])
    return min(overall, key=lambda n: overall[n]["model"]["ab_mae"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--runs", type=Path, default=Path("runs/objectives"))
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "default.toml")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--size", type=int, default=112, help="training crop size; scored at render factor size / 16")
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    ap.add_argument("--set", action="append", default=[], help="recipe override for every arm (repeatable)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--reference", type=Path, default=REFERENCE, help="model tabled beside the arms, if present")
    ap.add_argument("--section", default="compare_objectives", help="section of docs/objectives.md to write")
    args = ap.parse_args()
    todo = [name for name in args.arms if not (arm_dir(args.runs, name) / "scores.json").is_file()]
    env = {**os.environ, "OMP_NUM_THREADS": "1"} if args.device == "cpu" else dict(os.environ)
    procs = {name: subprocess.Popen(arm_command(name, args), env=env) for name in todo}
    failed = [name for name, p in procs.items() if p.wait() != 0]
    if failed:
        sys.exit(f"arms failed: {', '.join(failed)}")

    split = load_recipe(args.recipe).data.split
    val, groups = held_out_photos(args.data, by_source=split == "by-source")
    results = {}
    for name in args.arms:
        d = arm_dir(args.runs, name)
        results[name] = scores(d / "1-pretrain-gen" / "gen.pt", d / "scores.json", args, val, groups, arm=name)
    winner = pick(results)
    (args.runs / "winner.json").write_text(json.dumps({"arm": winner, "dir": str(arm_dir(args.runs, winner)), "overrides": ARMS[winner]}))
    print(f"winner: {winner}", flush=True)
    if args.reference.is_file():
        results[f"reference: {args.reference.stem} (not retrained)"] = scores(args.reference, args.runs / "reference-scores.json", args, val, groups)
    else:
        print(f"{args.reference}: not found, the table has no reference row", flush=True)
    for name, res in results.items():
        print(name, json.dumps({g: round(r["model"]["ab_mae"], 3) for g, r in res.items() if g != "decoding"}), flush=True)
    first = next(iter(results.values()))
    order = [g for g in ("all", "landscapes", "objects", "people") if g in first]
    label = {name: name + "".join(f" ({k.replace('_', ' ')} {v:g})" for k, v in res.get("decoding", {}).items())
             for name, res in results.items()}
    table = ["| model | " + " | ".join(f"{g} ({int(first[g]['n_photos']['count'])}): ab / colourfulness / gap" for g in order)
             + " | green share (real) / recall, all |", "|---|" + "---|" * (len(order) + 1)]
    for name, res in [*((label[n], r) for n, r in results.items()), ("gray image", {g: {"model": first[g]["gray"]} for g in order})]:
        cells = [f"{res[g]['model']['ab_mae']:.2f} / {res[g]['model']['colorfulness']:.1f} / {res[g]['model']['colorfulness_gap']:.1f}" for g in order]
        every = res["all"]["model"]
        green = f"{every['green_share']:.1%} ({every['green_share_real']:.1%}) / {every['green_recall']:.1%}"
        table.append(f"| {name} | " + " | ".join(cells) + f" | {green} |")
    body = (f"Command: `.venv/bin/python scripts/compare_objectives.py {shlex.join(sys.argv[1:])}`: stage 1 only, "
            f"{args.steps} steps at {args.size} px, batch and everything else from `{args.recipe.name}`; scored at "
            f"render factor {render_factor_for(args.size)} on the held-out split ({split}). Real photos' colourfulness: "
            + ", ".join(f"{g} {first[g]['model']['colorfulness_real']:.1f}" for g in order)
            + ". ab = mean CIELAB a*b* error (lower is better); gap = |colourfulness − real| (lower is better).\n\n"
            + "\n".join(table) + f"\n\nThe arm the rule picks (smallest gap among arms beating the gray image's ab error): **{winner}**.")
    replace_section(args.section, body, doc=DOC)
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
