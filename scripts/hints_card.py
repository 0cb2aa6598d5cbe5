#!/usr/bin/env python3
"""Measure a hint-aware model for docs/measurements.md: held-out ab error and PSNR with 0, 1, 2, 5, 10 and 20 hints
sampled from the true colour, beside the model it was fine-tuned from (without and with hints), its automatic
colour per group beside `--compare` models, and a before/after sheet of one photo corrected by a few hints. With
`--ship NAME` the model is first copied to weights/NAME.pt in fp16 with its manifest, and that shipped file is what
is measured.

    .venv/bin/python scripts/hints_card.py --data data/photos --model runs/hints-v4/hints/gen.pt \\
        --base weights/colorize-lite0-v4.pt --photo data/photos/gcompris-qt-data__explore_world_music__music_mexico.jpg \\
        --hint 30%,55% --hint 70%,40% --hint 50%,80%

Hints come from the photo's own colour at the given places (a person would give them from memory), so the sheet
shows what the model does with right hints. Scores use `colorize.evaluation` (the same hint places for every
model); the table and plot replace the `hints_card` section of docs/measurements.md, the sheet goes to
docs/images/hints-before-after.jpg.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import replace_section  # noqa: E402
from colorize.color.ycbcr import to_gray  # noqa: E402
from colorize.corpus import held_out_photos  # noqa: E402
from colorize.images import load_rgb  # noqa: E402
from colorize.evaluation import evaluate_groups, evaluate_photos  # noqa: E402
from colorize.hints import Hints, PointHint  # noqa: E402
from colorize.inference import load_colorizer  # noqa: E402
from colorize.pipeline import InferenceConfig  # noqa: E402
from colorize.sheets import contact_sheet  # noqa: E402
from colorize.weights import read_checkpoint, save_half, write_manifest  # noqa: E402

CARD = ROOT / "docs" / "measurements.md"
IMAGES = ROOT / "docs" / "images"
COUNTS = (0, 1, 2, 5, 10, 20)


def true_color_hints(real: np.ndarray, places: list[str]) -> Hints:
    """Hints at `places` ("X,Y" in pixels or %) carrying the photo's own colour there (3x3 mean)."""
    h, w = real.shape[:2]
    points = []
    for place in places:
        probe = PointHint.parse(f"{place}=black")
        fx, fy = probe.fraction(h, w)
        x, y = min(int(fx * w), w - 1), min(int(fy * h), h - 1)
        color = tuple(int(round(c)) for c in real[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].reshape(-1, 3).mean(axis=0))
        points.append(PointHint(x, y, False, False, color, f"{x},{y}=#{color[0]:02x}{color[1]:02x}{color[2]:02x}"))
    return Hints(tuple(points))


def mark(img: np.ndarray, hints: Hints) -> np.ndarray:
    """`img` with each hint drawn as a dot of its colour in a white ring."""
    out = img.copy()
    r = max(3, min(out.shape[:2]) // 80)
    yy, xx = np.mgrid[: out.shape[0], : out.shape[1]]
    for p in hints.points:
        d2 = (yy - p.y) ** 2 + (xx - p.x) ** 2
        out[d2 <= (r + 2) ** 2] = 255
        out[d2 <= r**2] = p.rgb
    return out


def retuned(trained: Path, ckpt: dict, data: Path, device: str) -> tuple[dict, list[dict[str, float]]]:
    """The trained model's inference settings with its decoding knob chosen by `tune_decoding` (the export's rule,
    on its run's config and held-out crops), and every setting's scores. A fine-tune otherwise keeps its base's
    knob, which was chosen for another model."""
    import torch

    from colorize.config import RecipeConfig, from_dict
    from colorize.pipeline import InferenceConfig
    from colorize.train.common import StageContext
    from colorize.train.recipe import tune_decoding
    from colorize.weights import load_generator

    model, meta = load_generator(trained)
    cfg = from_dict(RecipeConfig, ckpt["config"])
    ctx = StageContext(run_dir=trained.parent, data_dir=data, device=torch.device(device))
    tuned, scores = tune_decoding(model, InferenceConfig.from_checkpoint(meta), cfg, ctx)
    return tuned.to_dict(), scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True, help="the hint-aware model")
    ap.add_argument("--base", type=Path, required=True, help="the model it was fine-tuned from")
    ap.add_argument("--photo", type=Path, required=True, help="a held-out colour photo for the before/after sheet")
    ap.add_argument("--hint", action="append", required=True, help="X,Y of a hint on --photo (pixels or %%; repeatable)")
    ap.add_argument("--compare", action="append", default=[], metavar="LABEL=WEIGHTS", help="a model for the per-group table")
    ap.add_argument("--ship", metavar="NAME", help="copy --model to weights/NAME.pt (fp16, with manifest) and measure that")
    ap.add_argument("--tune-decoding", action="store_true",
                    help="with --ship: choose the chroma gain by the export's rule (as `colorize train all` does) "
                         "instead of keeping the base's")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    trained = args.model
    if args.tune_decoding and not args.ship:
        ap.error("--tune-decoding needs --ship")
    if args.ship:
        args.model = ROOT / "weights" / f"{args.ship}.pt"
        ckpt = read_checkpoint(trained, kind="generator")
        inference, extra = InferenceConfig.from_checkpoint(ckpt).to_dict(), {}
        if args.tune_decoding:
            inference, extra["decoding_scores"] = retuned(trained, ckpt, args.data, args.device)
        save_half(trained, args.model, inference)
        record = {"model_config": ckpt["model_config"], "inference": inference, **extra,
                  "training": {"stage": "hints", "from": args.base.name, "steps": ckpt.get("step"),
                               "hints": ckpt.get("config", {}).get("hints")}}
        write_manifest(args.model, **record)  # the file's new sha256, before anything loads it
    val, group_of = held_out_photos(args.data)
    model = load_colorizer(args.model, device=args.device, batch_size=1)
    base = load_colorizer(args.base, device=args.device, batch_size=1)
    rows = {n: evaluate_photos(model, val, n_hints=n) for n in COUNTS}
    base_scores = evaluate_photos(base, val)
    base_hinted = evaluate_photos(base, val, n_hints=5)
    gray = base_scores["gray"]
    compared = {args.model.stem: args.model, args.base.stem: args.base,
                **{c.split("=", 1)[0]: Path(c.split("=", 1)[1]) for c in args.compare}}
    per_group = {name: evaluate_groups(load_colorizer(w, device=args.device, batch_size=1), val, group_of)
                 for name, w in compared.items()}
    groups = list(per_group[args.model.stem])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(COUNTS, [rows[n]["model"]["ab_mae"] for n in COUNTS], "o-", label=f"{args.model.name} (hint-aware)")
    ax.axhline(base_scores["model"]["ab_mae"], color="tab:green", ls="--", label=f"{args.base.stem}, no hints")
    ax.axhline(gray["ab_mae"], color="gray", ls=":", label="gray image")
    ax.set_xlabel("true-colour hints per photo")
    ax.set_ylabel("held-out ab error (lower is better)")
    ax.legend()
    fig.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMAGES / "hints-curve.png", dpi=110)

    real = load_rgb(args.photo, 1024)
    hints = true_color_hints(real, args.hint)
    g = to_gray(real)
    # The same model without and with the hints: what a user sees when adding them.
    sheet = contact_sheet([[np.repeat(g[..., None], 3, -1), model.colorize([g])[0], mark(model.colorize([g], [hints])[0], hints), real]],
                          col_labels=["gray", "no hints", f"{len(hints.points)} hints (dots)", "real colour"], cell_px=320)
    from PIL import Image

    Image.fromarray(sheet).save(IMAGES / "hints-before-after.jpg", quality=88)

    zero = rows[0]["model"]["ab_mae"]
    lines = [
        "## Colour hints (generated by `scripts/hints_card.py`)",
        "",
        f"Held-out photos: {int(rows[0]['n_photos']['count'])}, each given N hints sampled from its true colour at "
        "random places (the same places for every model). PSNR higher is better, ab error lower.",
        "",
        f"Command: `python scripts/hints_card.py {shlex.join(sys.argv[1:])}`",
        "",
        "| hints per photo | ab error | vs 0 hints | PSNR dB |",
        "|---|---|---|---|",
        *(f"| {n} | {rows[n]['model']['ab_mae']:.2f} | {100 * (rows[n]['model']['ab_mae'] / zero - 1):+.0f} % | {rows[n]['model']['psnr']:.2f} |" for n in COUNTS),
        f"| {args.base.stem} (the base), 0 hints | {base_scores['model']['ab_mae']:.2f} | | {base_scores['model']['psnr']:.2f} |",
        f"| {args.base.stem} (the base), 5 hints | {base_hinted['model']['ab_mae']:.2f} | "
        f"{100 * (base_hinted['model']['ab_mae'] / base_scores['model']['ab_mae'] - 1):+.0f} % | {base_hinted['model']['psnr']:.2f} |",
        f"| gray image | {gray['ab_mae']:.2f} | | {gray['psnr']:.2f} |",
        "",
        "![ab error against the number of hints](images/hints-curve.png)",
        "",
        f"![{args.photo.name}: gray, no hints, with hints, real](images/hints-before-after.jpg)",
        "",
        "Automatic colour (no hints) per group of the same held-out photos: ab error / colourfulness gap (both lower "
        "is better).",
        "",
        "| model | " + " | ".join(f"{g} ({int(per_group[args.model.stem][g]['n_photos']['count'])})" for g in groups) + " |",
        "|---|" + "---|" * len(groups),
        *(f"| {name} | " + " | ".join(f"{r[g]['model']['ab_mae']:.2f} / {r[g]['model']['colorfulness_gap']:.1f}" for g in groups) + " |"
          for name, r in per_group.items()),
        "| gray image | " + " | ".join(f"{per_group[args.model.stem][g]['gray']['ab_mae']:.2f}" for g in groups) + " |",
    ]
    replace_section("hints_card", "\n".join(lines), CARD)
    if args.ship:
        write_manifest(args.model, **record,
                       quality={"held_out": {"render_factor": model.render_factor, **{f"{n} hints": rows[n]["model"] for n in COUNTS}},
                                "per_group": {g: per_group[args.model.stem][g]["model"] for g in groups}})
    print("\n".join(lines))


if __name__ == "__main__":
    main()
