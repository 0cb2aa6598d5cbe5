#!/usr/bin/env python3
"""Compare the adversarial losses on one run: the GAN phase once per `gan.loss`, all from the same pretrained
generator and critic, with the same data, seed and number of generator steps (early stopping off).

    colorize train pretrain-gen|cache|pretrain-critic --data D --run-dir RUN --recipe R   # once, the shared start
    .venv/bin/python scripts/compare_gan.py --data D --run RUN --recipe R [--steps 30] [--losses bce hinge ...]

Each loss's GAN phase is an ordinary stage folder, `RUN/gan-LOSS/` (metrics.csv, metrics.png with the training
dynamics, contact_sheet.png, best.pt), so a rerun skips the losses already done. The table and the figure of every
loss's score curve replace the generated section of docs/gan-losses.md; the conclusion around it is written by hand.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import replace_section  # noqa: E402
from colorize.config import load_recipe, parse_override  # noqa: E402
from colorize.losses import ADVERSARIAL_LOSSES  # noqa: E402
from colorize.train import gan, pretrain_gen  # noqa: E402
from colorize.train.common import init_distributed  # noqa: E402
from colorize.train.recipe import cycle_names  # noqa: E402

DOC = ROOT / "docs" / "gan-losses.md"
FIGURE = ROOT / "docs" / "images" / "gan-losses.png"


def read_rows(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def plot(curves: dict[str, list[dict[str, float]]], path: Path) -> None:
    """Score and ab error against GAN step, one line per loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), dpi=100)
    for name, rows in curves.items():
        steps = [r["step"] for r in rows]
        for ax, key in zip(axes, ("score", "ab_mae", "ab_diversity")):
            ax.plot(steps, [r[key] for r in rows], marker="o", label=name)
    first = next(iter(curves.values()))[0]
    axes[1].axhline(first["ab_mae_gray"], color="k", linestyle=":", label="gray image")
    axes[2].axhline(first["ab_diversity_real"], color="k", linestyle=":", label="real photos")
    for ax, title in zip(axes, ("score = ab error + colourfulness gap (lower is better)", "ab error (lower is better)",
                                "colour diversity across photos")):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("GAN generator step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--run", type=Path, required=True, help="run folder holding the pretrained generator and critic")
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "default.toml")
    ap.add_argument("--steps", type=int, default=30, help="generator steps per loss")
    ap.add_argument("--losses", nargs="+", default=list(ADVERSARIAL_LOSSES), choices=list(ADVERSARIAL_LOSSES))
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="extra recipe override, section.key=value")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    base = dict(parse_override(o) for o in args.overrides)
    ctx = init_distributed(args.run, args.data, force=False, device=args.device)
    gen_path = args.run / pretrain_gen.NAME / "gen.pt"
    crit_path = args.run / cycle_names(1)[1] / "crit.pt"
    for p in (gen_path, crit_path):
        if not (p.parent / "DONE").is_file():
            sys.exit(f"{p} missing: run `colorize train pretrain-gen`, `cache` and `pretrain-critic` into {args.run} first")
    table = ["| loss | chosen step | ab error | colourfulness (real) | gap | diversity (real) | critic acc real / fake | wall time |",
             "|---|---|---|---|---|---|---|---|"]
    curves = {}
    for name in args.losses:
        # Early stopping off: every loss gets the same number of generator steps.
        cfg = load_recipe(args.recipe, {**base, "gan.loss": name, "gan.max_steps": args.steps, "gan.patience_evals": 10**6})
        gan.run(cfg, ctx, gen_path, crit_path, f"gan-{name}")
        out = args.run / f"gan-{name}"
        done = json.loads((out / "DONE").read_text())
        rows = read_rows(out / "metrics.csv")
        curves[name] = rows
        best = done["chosen_metrics"]
        dyn = [r for r in rows if r["step"] > 0]
        acc_r = sum(r["acc_real"] for r in dyn) / len(dyn)
        acc_f = sum(r["acc_fake"] for r in dyn) / len(dyn)
        table.append(f"| {name} | {done['chosen_step']} | {best['ab_mae']:.2f} (gray {best['ab_mae_gray']:.2f}) | "
                     f"{best['colorfulness']:.1f} ({best['colorfulness_real']:.1f}) | {best['colorfulness_gap']:.1f} | "
                     f"{best['ab_diversity']:.2f} ({best['ab_diversity_real']:.2f}) | {acc_r:.2f} / {acc_f:.2f} | "
                     f"{done['seconds'] / 60:.1f} min |")
        print(table[-1], flush=True)
    plot(curves, FIGURE)
    command = " ".join(["scripts/compare_gan.py", *sys.argv[1:]])
    body = (f"Command: `.venv/bin/python {command}`; {args.steps} generator steps per loss from "
            f"`{gen_path}` and `{crit_path}`. Metrics at each loss's chosen inflection point on the held-out photos; "
            f"critic accuracy is the mean over the phase of its last step before each generator step.\n\n"
            + "\n".join(table) + f"\n\n![score curves per loss](images/{FIGURE.name})")
    replace_section("compare_gan", body, doc=DOC)
    print(f"wrote {DOC} and {FIGURE}")


if __name__ == "__main__":
    main()
