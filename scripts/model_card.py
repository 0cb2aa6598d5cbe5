#!/usr/bin/env python3
"""Ship a trained run as the default model and measure it for docs/measurements.md, beside references and baselines.

    .venv/bin/python scripts/model_card.py --data data/photos --run runs/v4 --name colorize-lite0-v4 \\
        --compare "v3=weights/colorize-lite0-v3.pt" [--baselines runs/card]

1. RUN/final.pt -> weights/NAME.pt in fp16 (what users get), with its manifest NAME.json (sha256, config, training,
   held-out quality).
2. References (`--compare LABEL=WEIGHTS`, repeatable): models already trained, such as the previous default or the
   run's own stage 1. The card's verdict measures the shipped model against the first of them and the gray image.
3. Baselines (`--baselines DIR`, optional: each is a whole training run): the same recipe, data, seed and budget with
   one setting changed (a randomly initialised encoder; no perceptual loss), each `colorize train all`, so an
   interrupted card resumes and a finished arm is skipped.
4. Every model, and the gray image itself, is scored on the held-out split of `--data` (photos never trained on),
   per group (all, landscapes, objects, people), through the real inference path at each `--render-factors`; the
   tables replace the `model_card` section of docs/measurements.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import replace_section  # noqa: E402
from colorize.corpus import held_out_photos  # noqa: E402
from colorize.evaluation import evaluate_groups  # noqa: E402
from colorize.inference import load_colorizer  # noqa: E402
from colorize.models import count_parameters  # noqa: E402
from colorize.weights import DEFAULT_MODEL_NAME, load_generator, save_half, write_manifest  # noqa: E402

CARD = ROOT / "docs" / "measurements.md"
RECIPE = ROOT / "recipes" / "default.toml"
BASELINES = {
    "random encoder": ["pretrain_gen.pretrained_encoder=false"],
    "no perceptual loss": ["loss.perceptual=false"],
}
GROUPS = ("all", "landscapes", "objects", "people")
# The bar the shipped model must clear against the previous default: at most this fraction of its colourfulness gap.
GAP_FRACTION = 2 / 3


def train_baseline(name: str, data: Path, arms_dir: Path) -> Path:
    """Run (or resume, or skip) one baseline arm; returns its final.pt."""
    run = arms_dir / name.replace(" ", "-")
    cmd = [sys.executable, "-m", "colorize", "train", "all", "--data", str(data), "--run-dir", str(run), "--recipe", str(RECIPE)]
    for s in BASELINES[name]:
        cmd += ["--set", s]
    subprocess.run(cmd, check=True)
    return run / "final.pt"


def verdict(ours: dict, reference_name: str, reference: dict, gray: dict) -> str:
    """Per group: does the shipped model beat the reference and the gray image on ab error, with at most
    GAP_FRACTION of the reference's colourfulness gap?"""
    lines = []
    for g in [g for g in GROUPS if g in ours]:
        o, r, gr = ours[g]["ab_mae"], reference[g]["ab_mae"], gray[g]["ab_mae"]
        gap, ref_gap = ours[g]["colorfulness_gap"], reference[g]["colorfulness_gap"]
        ok_ab, ok_gap = o < min(r, gr), gap <= GAP_FRACTION * ref_gap
        lines.append(f"- {g}: ab {o:.2f} vs {reference_name} {r:.2f} and gray {gr:.2f}: {'**beats both**' if ok_ab else '**does not beat both**'}; "
                     f"gap {gap:.1f} vs {reference_name}'s {ref_gap:.1f} (bar {GAP_FRACTION * ref_gap:.1f}): {'**met**' if ok_gap else '**not met**'}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--run", type=Path, required=True, help="the finished `colorize train all` run to ship")
    ap.add_argument("--name", default=DEFAULT_MODEL_NAME)
    ap.add_argument("--compare", action="append", default=[], metavar="LABEL=WEIGHTS", help="a trained model to table beside it")
    ap.add_argument("--baselines", type=Path, help="train the baseline arms here (hours: each is a whole recipe)")
    ap.add_argument("--render-factors", type=int, nargs="+", help="default: the shipped model's own (a model never runs above it)")
    args = ap.parse_args()
    final = json.loads((args.run / "final.json").read_text())
    shipped = ROOT / "weights" / f"{args.name}.pt"
    save_half(args.run / "final.pt", shipped)
    write_manifest(shipped, model_config=final["model_config"], render_factor=final["render_factor"], training=final["training"])
    val, group_of = held_out_photos(args.data)
    models = {f"{args.name} (shipped)": shipped, **{c.split("=", 1)[0]: Path(c.split("=", 1)[1]) for c in args.compare}}
    if args.baselines:
        models.update({name: train_baseline(name, args.data, args.baselines) for name in BASELINES})

    results: dict[int, dict[str, dict]] = {}
    render_factors = args.render_factors or [final["render_factor"]]
    for rf in render_factors:
        results[rf] = {}
        for name, weights in models.items():
            res = evaluate_groups(load_colorizer(weights, device="cpu", render_factor=rf, batch_size=1), val, group_of)
            results[rf][name] = {g: r["model"] for g, r in res.items()}
            results[rf].setdefault("gray image", {g: r["gray"] for g, r in res.items()})
            counts = {g: int(r["n_photos"]["count"]) for g, r in res.items()}
            print(rf, name, json.dumps({g: round(m["ab_mae"], 3) for g, m in results[rf][name].items()}), flush=True)
    results = {rf: {k: v for k, v in r.items() if k != "gray image"} | {"gray image": r["gray image"]} for rf, r in results.items()}

    training = final["training"]
    model, _ = load_generator(shipped)
    first = results[render_factors[0]]
    ours = first[f"{args.name} (shipped)"]
    write_manifest(
        shipped, model_config=final["model_config"], render_factor=final["render_factor"], training=training,
        quality={"held_out": {"model": ours["all"], "gray": first["gray image"]["all"], "per_group": ours,
                              "render_factor": render_factors[0], "n_photos": counts}},
    )
    # The GAN stage's own pictures of the shipped run, for the card.
    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for src, dst in (("4-gan/metrics.png", "model-gan-metrics.png"), ("4-gan/contact_sheet.png", "model-gan-contact-sheet.png")):
        shutil.copyfile(args.run / src, images / dst)

    seconds = sum(training["stage_seconds"].values())
    gain = final["model_config"].get("chroma_gain", 1.0)
    lines = [
        "## Measured quality (generated by `scripts/model_card.py`)",
        "",
        f"Shipped file: `weights/{shipped.name}`, {shipped.stat().st_size / 2**20:.1f} MiB (fp16), "
        f"{count_parameters(model) / 1e6:.1f}M parameters; stages took {seconds / 60:.1f} min "
        f"({', '.join(f'{k} {v / 60:.1f} min' for k, v in training['stage_seconds'].items())}); stage 1 on "
        f"{training['device']}; GAN checkpoint chosen at step {training['chosen_gan_step']}; decoding chroma gain {gain:g}.",
        "",
        f"Held-out photos: the {counts['all']} photos of the corpus's validation split (never trained on; "
        + ", ".join(f"{g} {n}" for g, n in counts.items() if g != "all")
        + "), at most 1024 px on the short side, their grayscale colorized through the real inference path and "
        "compared with the real colour. Each cell: ab MAE (mean absolute CIELAB a*b* error, lower is better) / "
        "colourfulness gap (distance to the real photos' colourfulness, lower is better).",
        "",
        f"Command: `python scripts/model_card.py {shlex.join(sys.argv[1:])}`",
    ]
    for rf in render_factors:
        real = results[rf]["gray image"]
        lines += ["", f"### Render factor {rf}", "",
                  "| model | " + " | ".join(f"{g} (real colourfulness {real[g]['colorfulness_real']:.1f})" for g in GROUPS if g in real) + " |",
                  "|---|" + "---|" * len([g for g in GROUPS if g in real])]
        for name, res in results[rf].items():
            lines.append(f"| {name} | " + " | ".join(f"{res[g]['ab_mae']:.2f} / {res[g]['colorfulness_gap']:.1f}" for g in GROUPS if g in res) + " |")
        if args.compare:
            ref = args.compare[0].split("=", 1)[0]
            lines += ["", f"Against {ref} and the gray image:", "", verdict(results[rf][f"{args.name} (shipped)"], ref, results[rf][ref], real)]
    replace_section("model_card", "\n".join(lines), CARD)
    print(f"written to {CARD} and {shipped}")


if __name__ == "__main__":
    main()
