#!/usr/bin/env python3
"""Compare the adversarial losses on one run: the GAN phase once per `gan.loss` and seed, all from the same
pretrained generator and critic, with the same data and number of generator steps (early stopping off).

    colorize train pretrain-gen|cache|pretrain-critic --data D --run-dir RUN --recipe R   # once, the shared start
    .venv/bin/python scripts/compare_gan.py --data D --run RUN --recipe R [--steps 300] [--seeds 3] [--losses bce ...]
    .venv/bin/python scripts/compare_gan.py ... --report-only      # the table of the runs finished so far
    .venv/bin/python scripts/compare_gan.py ... --archive DIR      # keep each finished arm's scores in DIR too

Each loss's GAN phase is an ordinary stage folder, `RUN/gan-LOSS-sSEED/` (metrics.csv, metrics.png with the
training dynamics, contact_sheet.png, best.pt, TensorBoard events), so a rerun skips what is done and an interrupted
one resumes. The table gives each metric's mean ± standard deviation over the seeds (`data.seed`: the batches,
DiffAugment and penalties); for began also the checkpoint its convergence measure M would pick (the lowest M) beside
the accuracy-first rule's. On a CPU a whole comparison outlasts a working session: `--archive` keeps each finished
arm's DONE and metrics.csv (a few kB, fit to commit) and restores them into a rebuilt run folder, so the next session
runs only the arms still missing, provided the rebuilt start is the same: the archive records the sha256 of the
start's weights and refuses another start. The table and the figure of every
loss's score curve replace the generated section of docs/gan-losses.md; the conclusion around it is written by hand.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
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
    """Per loss, the mean over its seeds at each checkpoint: the trade-off the GAN phase makes (ab error against the
    colourfulness gap, one point per checkpoint from step 0), the held-out scores against the step (top), and the
    training dynamics (bottom: the critic's accuracy on real and generated images, and the adversarial gradient at the
    generator's output, log scale since the Wasserstein critics' is orders of magnitude above the classifiers')."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {"ab_mae": "ab error (lower is better)", "ab_diversity": "colour diversity across photos",
              "acc_real": "critic accuracy on real photos", "acc_fake": "critic accuracy on generated colour",
              "adv_grad_norm": "adversarial gradient norm at the output"}
    fig, axes = plt.subplots(2, 3, figsize=(14, 8), dpi=100)
    trade_off, by_step = axes.flat[0], axes.flat[1:]
    for name, rows in curves.items():
        line, = trade_off.plot([r["colorfulness_gap"] for r in rows], [r["ab_mae"] for r in rows], marker="o", markersize=3,
                               label=name)
        trade_off.annotate(f"{int(rows[-1]['step'])}", (rows[-1]["colorfulness_gap"], rows[-1]["ab_mae"]), fontsize=7,
                           color=line.get_color())
        for ax, key in zip(by_step, panels):
            pts = [(r["step"], r[key]) for r in rows if r[key] == r[key]]  # step 0 has no dynamics (NaN)
            ax.plot(*zip(*pts), marker="o", markersize=3, label=name)
    first = next(iter(curves.values()))[0]
    for ax in (trade_off, by_step[0]):
        ax.axhline(first["ab_mae_gray"], color="k", linestyle=":", label="gray image")
    by_step[1].axhline(first["ab_diversity_real"], color="k", linestyle=":", label="real photos")
    by_step[4].set_yscale("log")
    trade_off.invert_xaxis()
    trade_off.set_title("the trade-off: ab error against colourfulness gap, step 0 on the left", fontsize=9)
    trade_off.set_xlabel("colourfulness gap to the real photos (more colour to the right)")
    trade_off.legend(fontsize=7)
    for ax, title in zip(by_step, panels.values()):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("GAN generator step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def mean_rows(seed_rows: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """The seeds' metrics averaged checkpoint by checkpoint (every seed scores the same steps)."""
    import numpy as np

    return [{k: float(np.mean([r[k] for r in rows])) for k in rows[0]} for rows in zip(*seed_rows)]


def summary(out: Path) -> dict:
    """One GAN phase's outcome: its chosen checkpoint's metrics, its dynamics, and M's own pick (began)."""
    done = json.loads((out / "DONE").read_text())
    rows = read_rows(out / "metrics.csv")
    dyn = [r for r in rows if r["step"] > 0]
    out_row = {**done["chosen_metrics"], "step": done["chosen_step"], "minutes": done["seconds"] / 60, "rows": rows,
               **{k: sum(r[k] for r in dyn) / len(dyn) for k in ("acc_real", "acc_fake", "adv_grad_norm")}}
    if dyn and "began_M" in dyn[0]:
        by_m = min(dyn, key=lambda r: r["began_M"])
        out_row["m_pick"] = (int(by_m["step"]), by_m["ab_mae"])
    return out_row


def weights_sha256(path: Path) -> str:
    """sha256 of a checkpoint's tensors in name order: equal weights give equal digests, whatever else the file holds."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(torch.load(path, map_location="cpu", weights_only=True)["state_dict"].items()):
        digest.update(name.encode() + tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def check_start(archive: Path, weights: list[Path]) -> None:
    """Record the start's weights (sha256) in a new archive; exit if an existing archive's differ."""
    start = {p.parent.name: weights_sha256(p) for p in weights}
    record = archive / "start.json"
    if not record.is_file():
        archive.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(start, indent=1) + "\n")
    elif json.loads(record.read_text()) != start:
        sys.exit(f"{archive}: its arms started from other weights than {', '.join(str(p) for p in weights)} "
                 f"(sha256 in {record}); use another archive or rebuild the same start")


def keep_arm(src: Path, dst: Path) -> None:
    """Copy a finished arm's record (DONE, metrics.csv) from `src` to `dst`, unless `dst` has one or `src` has none."""
    if (src / "DONE").is_file() and not (dst / "DONE").is_file():
        dst.mkdir(parents=True, exist_ok=True)
        for f in ("metrics.csv", "DONE"):  # DONE last: a half-copied arm is not done
            shutil.copy2(src / f, dst / f)


def stage_name(loss: str, seed: int, seeds: int) -> str:
    return f"gan-{loss}" if seeds == 1 else f"gan-{loss}-s{seed}"


def row(name: str, runs: list[dict]) -> str:
    """A table row: each metric's mean ± standard deviation over the seeds."""
    import numpy as np

    def ms(key: str, fmt: str = ".2f") -> str:
        v = np.array([r[key] for r in runs], float)
        return f"{v.mean():{fmt}} ± {v.std():{fmt}}" if len(v) > 1 else f"{v[0]:{fmt}}"

    m_note = ""
    if "m_pick" in runs[0]:
        m_note = "; M picks " + ", ".join(f"step {s} (ab {ab:.2f})" for s, ab in (r["m_pick"] for r in runs))
    return (f"| {name} | {len(runs)} | {', '.join(str(int(r['step'])) for r in runs)} | {ms('ab_mae')} "
            f"(gray {runs[0]['ab_mae_gray']:.2f}){m_note} | {ms('colorfulness_gap', '.1f')} | {ms('ab_diversity')} "
            f"({runs[0]['ab_diversity_real']:.2f}) | {ms('acc_real')} / {ms('acc_fake')} | {ms('adv_grad_norm', '.3f')} | "
            f"{ms('minutes', '.1f')} min |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--run", type=Path, required=True, help="run folder holding the pretrained generator and critic")
    ap.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "default.toml")
    ap.add_argument("--steps", type=int, default=30, help="generator steps per loss")
    ap.add_argument("--seeds", type=int, default=1, help="runs per loss, seeds 0..N-1")
    ap.add_argument("--losses", nargs="+", default=list(ADVERSARIAL_LOSSES), choices=list(ADVERSARIAL_LOSSES))
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="extra recipe override, section.key=value")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: print the table of the runs finished so far (the doc is left alone)")
    ap.add_argument("--archive", type=Path,
                    help="folder keeping each finished arm's record, restored into --run before the arm would run")
    ap.add_argument("--section", default="compare_gan",
                    help="section of docs/gan-losses.md to write (another, e.g. for a critic variant, keeps the main table)")
    args = ap.parse_args()
    base = dict(parse_override(o) for o in args.overrides)
    table = ["| loss | seeds | chosen step | ab error | colourfulness gap | diversity (real) | critic acc real / fake | "
             "adversarial gradient norm | wall time per run |", "|---|---|---|---|---|---|---|---|---|"]
    if args.report_only:  # from the run folder, or from an archive given as --run
        for name in args.losses:
            done = [args.run / stage_name(name, s, args.seeds) for s in range(args.seeds)]
            runs = [summary(d) for d in done if (d / "DONE").is_file()]
            table += [row(name, runs)] if runs else []
        print("\n".join(table))
        return
    ctx = init_distributed(args.run, args.data, force=False, device=args.device)
    gen_path = args.run / pretrain_gen.NAME / "gen.pt"
    crit_path = args.run / cycle_names(1)[1] / "crit.pt"
    for p in (gen_path, crit_path):
        if not (p.parent / "DONE").is_file():
            sys.exit(f"{p} missing: run `colorize train pretrain-gen`, `cache` and `pretrain-critic` into {args.run} first")
    if args.archive:
        check_start(args.archive, [gen_path, crit_path])
    # Seed by seed, every loss at each: an interrupted comparison has every loss's first seeds, not one loss's all.
    for seed in range(args.seeds):
        for name in args.losses:
            # Early stopping off: every loss gets the same number of generator steps.
            cfg = load_recipe(args.recipe, {**base, "gan.loss": name, "gan.max_steps": args.steps,
                                            "gan.patience_evals": 10**6, "data.seed": seed})
            stage = stage_name(name, seed, args.seeds)
            if args.archive:
                keep_arm(args.archive / stage, args.run / stage)
            gan.run(cfg, ctx, gen_path, crit_path, stage)
            if args.archive:
                keep_arm(args.run / stage, args.archive / stage)
    curves = {}
    for name in args.losses:
        runs = [summary(args.run / stage_name(name, seed, args.seeds)) for seed in range(args.seeds)]
        curves[name] = mean_rows([r["rows"] for r in runs])
        table.append(row(name, runs))
        print(table[-1], flush=True)
    figure = FIGURE if args.section == "compare_gan" else FIGURE.with_name(f"gan-losses-{args.section}.png")
    plot(curves, figure)
    command = " ".join(["scripts/compare_gan.py", *sys.argv[1:]])
    body = (f"Command: `.venv/bin/python {command}`; {args.steps} generator steps per loss and seed from "
            f"`{gen_path}` and `{crit_path}`. Metrics at each loss's chosen inflection point on the held-out photos; "
            f"critic accuracy and the adversarial gradient's norm at the generator's output are means over the phase; ± is the "
            f"standard deviation over {args.seeds} seed(s).\n\n"
            + "\n".join(table) + f"\n\nThe figure: each loss's scores and training dynamics at every checkpoint, averaged "
            f"over its seeds.\n\n![scores and dynamics per loss](images/{figure.name})")
    replace_section(args.section, body, doc=DOC)
    print(f"wrote {DOC} and {figure}")


if __name__ == "__main__":
    main()
