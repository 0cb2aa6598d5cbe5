#!/usr/bin/env python3
"""Ship a trained run as the default model and measure it for docs/model-card.md, next to its baselines.

    .venv/bin/python scripts/model_card.py --data data/photos --run runs/v3 [--arms runs/card]

1. RUN/final.pt -> weights/NAME.pt in fp16 (what users get), with its manifest NAME.json (sha256, config, training,
   held-out quality).
2. Baselines: the same recipe, at the same budget, with one setting changed: a randomly initialised encoder, no
   perceptual loss. Each is `colorize train all`, so an interrupted card resumes and a finished arm is skipped.
3. Every model, and the gray image itself, is scored on the held-out split of `--data` (photos never trained on)
   through the real inference path at each `--render-factors`; the table replaces the `model_card` section of
   docs/model-card.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchdoc import replace_section  # noqa: E402
from colorize.data import list_photos, split_photos  # noqa: E402
from colorize.evaluation import evaluate_photos  # noqa: E402
from colorize.inference import DEFAULT_RENDER_FACTOR, Colorizer  # noqa: E402
from colorize.models import count_parameters  # noqa: E402
from colorize.weights import DEFAULT_MODEL_NAME, load_generator, save_half, write_manifest  # noqa: E402

CARD = ROOT / "docs" / "model-card.md"
RECIPE = ROOT / "recipes" / "default.toml"
ARMS = {
    "random encoder": ["pretrain_gen.pretrained_encoder=false"],
    "no perceptual loss": ["loss.perceptual=false"],
}


def train_arm(name: str, data: Path, arms_dir: Path) -> Path:
    """Run (or resume, or skip) one baseline arm; returns its final.pt."""
    run = arms_dir / name.replace(" ", "-")
    cmd = [sys.executable, "-m", "colorize", "train", "all", "--data", str(data), "--run-dir", str(run), "--recipe", str(RECIPE)]
    for s in ARMS[name]:
        cmd += ["--set", s]
    subprocess.run(cmd, check=True)
    return run / "final.pt"


def score(weights: Path, paths: list[Path], render_factor: int) -> dict[str, dict[str, float]]:
    """Held-out metrics of `weights` and of the gray image."""
    colorizer = Colorizer.from_weights(weights, device="cpu", render_factor=render_factor, batch_size=1)
    return evaluate_photos(colorizer, paths)


def fmt_row(name: str, m: dict[str, float]) -> str:
    """One table row."""
    return f"| {name} | {m['psnr']:.2f} | {m['ab_mae']:.2f} | {m['colorfulness']:.1f} | {m['colorfulness_gap']:.1f} |"


def verdict(ours: dict[str, float], baselines: dict[str, dict[str, float]]) -> str:
    """Whether the shipped model beats every baseline on ab MAE and colourfulness gap, in one sentence."""
    lost = [f"{name} ({key.replace('_', ' ')} {m[key]:.2f} vs {ours[key]:.2f})"
            for name, m in baselines.items() for key in ("ab_mae", "colorfulness_gap") if m[key] <= ours[key]]
    if not lost:
        return f"The shipped model beats every baseline ({', '.join(baselines)}) on both ab MAE and colourfulness gap."
    return "The shipped model does **not** beat every baseline; it loses to: " + "; ".join(lost) + "."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--run", type=Path, required=True, help="the finished `colorize train all` run to ship")
    ap.add_argument("--arms", type=Path, default=Path("runs/card"), help="where the baseline runs go")
    ap.add_argument("--name", default=DEFAULT_MODEL_NAME)
    ap.add_argument("--render-factors", type=int, nargs="+", help="default: the shipped model's own, then 35")
    args = ap.parse_args()
    final = json.loads((args.run / "final.json").read_text())
    shipped = ROOT / "weights" / f"{args.name}.pt"
    save_half(args.run / "final.pt", shipped)
    write_manifest(shipped, model_config=final["model_config"], render_factor=final["render_factor"], training=final["training"])
    _, val = split_photos(list_photos(args.data), args.data, 0.1)
    arms = {name: train_arm(name, args.data, args.arms) for name in ARMS}

    results: dict[int, dict[str, dict[str, float]]] = {}
    render_factors = args.render_factors or [final["render_factor"], DEFAULT_RENDER_FACTOR]
    for rf in render_factors:
        ours = score(shipped, val, rf)
        results[rf] = {f"{args.name} (shipped)": ours["model"]}
        for name, arm in arms.items():
            results[rf][name] = score(arm, val, rf)["model"]
        results[rf]["gray image"] = ours["gray"]
        print(json.dumps({rf: {k: round(v["ab_mae"], 3) for k, v in results[rf].items()}}), flush=True)

    training = final["training"]
    model, _ = load_generator(shipped)
    default_rf = render_factors[0]
    first = results[default_rf]
    write_manifest(
        shipped, model_config=final["model_config"], render_factor=final["render_factor"], training=training,
        quality={"held_out": {"model": next(iter(first.values())), "gray": first["gray image"],
                              "render_factor": default_rf, "n_photos": len(val)}},
    )
    # The GAN stage's own pictures of the shipped run, for the card.
    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for src, dst in (("4-gan/metrics.png", "model-gan-metrics.png"), ("4-gan/contact_sheet.png", "model-gan-contact-sheet.png")):
        shutil.copyfile(args.run / src, images / dst)

    seconds = sum(training["stage_seconds"].values())
    changed = "; ".join(f"{name}: `--set {' --set '.join(sets)}`" for name, sets in ARMS.items())
    lines = [
        "## Measured quality (generated by `scripts/model_card.py`)",
        "",
        f"Shipped file: `weights/{shipped.name}`, {shipped.stat().st_size / 2**20:.1f} MiB (fp16), "
        f"{count_parameters(model) / 1e6:.1f}M parameters; trained on {training['device']} in {seconds / 60:.0f} min "
        f"({', '.join(f'{k} {v / 60:.1f} min' for k, v in training['stage_seconds'].items())}); GAN checkpoint chosen "
        f"at step {training['chosen_gan_step']}.",
        "",
        f"Held-out photos: the {len(val)} photos of the corpus's validation split (never trained on), at most 1024 px on "
        "the short side, their grayscale colorized through the real inference path and compared with the real colour. "
        "PSNR higher is better; ab MAE (mean absolute CIELAB a*b* error) lower; colourfulness gap (to the real photos' "
        f"{first['gray image']['colorfulness_real']:.1f}) lower.",
        "",
        "Baselines: *random encoder* and *no perceptual loss* are the shipped model's recipe, data, seed and budget "
        f"with one setting changed ({changed}).",
        "",
        f"Command: `python scripts/model_card.py {' '.join(sys.argv[1:])}`",
    ]
    for rf in render_factors:
        lines += ["", f"### Render factor {rf}", "", "| model | PSNR dB | ab MAE | colourfulness | colourfulness gap |", "|---|---|---|---|---|"]
        lines += [fmt_row(name, m) for name, m in results[rf].items()]
        ours, *baselines = results[rf].items()
        lines += ["", verdict(ours[1], dict(baselines))]
    replace_section("model_card", "\n".join(lines), CARD)
    print(f"written to {CARD} and {shipped}")


if __name__ == "__main__":
    main()
