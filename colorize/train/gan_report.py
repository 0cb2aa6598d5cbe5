"""What the GAN phase leaves to read: the metrics plot, the contact sheet across checkpoints, `best.pt`, and the
pruning of checkpoints no one needs."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from colorize.atomic import atomic_write
from colorize.sheets import contact_sheet
from colorize.train.common import Numerics
from colorize.train.scoring import score_generator
from colorize.weights import load_generator

_SHEET_COLUMNS = 6


def checkpoint_path(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step_{step:06d}.pt"


def read_step_log(path: Path) -> list[dict[str, float]]:
    """The per-step training log (`train_log.csv`) as numbers."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def plot_metrics(path: Path, rows: list[dict[str, float]], chosen_step: int, steps: list[dict[str, float]]) -> None:
    """Four panels: validation metrics per checkpoint (chosen one marked), the critic's accuracy on real and generated
    images, the adversarial gradient norm at the generator's output, and colour diversity across validation photos."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evals = [r["step"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), dpi=100)
    ax = axes[0, 0]
    for key in ("score", "ab_mae", "colorfulness_gap"):
        ax.plot(evals, [r[key] for r in rows], marker="o", label=key)
    ax.axhline(rows[0]["ab_mae_gray"], color="tab:orange", linestyle=":", label="ab_mae of the gray image")
    ax.set_title("validation metrics per checkpoint (lower is better)")
    ax = axes[0, 1]
    x = [r["step"] for r in steps]
    for key, label in (("acc_real", "real called real"), ("acc_fake", "generated called generated")):
        ax.plot(x, [r.get(key, np.nan) for r in steps], label=label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("critic accuracy (last critic step before each generator step)")
    ax = axes[1, 0]
    ax.plot(x, [r.get("adv_grad_norm", np.nan) for r in steps], color="tab:red")
    ax.set_yscale("log")
    ax.set_title("adversarial gradient norm at the generator's output")
    ax = axes[1, 1]
    ax.plot(evals, [r["ab_diversity"] for r in rows], marker="o", label="generated")
    ax.axhline(rows[0]["ab_diversity_real"], color="k", linestyle=":", label="real photos")
    ax.set_title("colour diversity across photos (→ 0: mode collapse)")
    for ax in axes.flat:
        ax.axvline(chosen_step, color="k", linestyle="--", linewidth=0.8, label=f"chosen: step {chosen_step}")
        ax.set_xlabel("GAN generator step")
        ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def _sheet_steps(rows: list[dict[str, float]], chosen: int) -> list[int]:
    steps = [int(r["step"]) for r in rows]
    idx = np.unique(np.linspace(0, len(steps) - 1, min(_SHEET_COLUMNS, len(steps))).round().astype(int))
    return sorted({steps[i] for i in idx} | {chosen})


def finish_outputs(out: Path, rows: list[dict[str, float]], chosen: int, pairs: list, size_px: int, num: Numerics) -> None:
    """best.pt, the plot, the contact sheet across checkpoints, and pruning of checkpoints nobody needs."""
    shutil.copyfile(checkpoint_path(out, chosen), out / "best.pt")
    plot_metrics(out / "metrics.png", rows, chosen, read_step_log(out / "train_log.csv"))
    steps = _sheet_steps(rows, chosen)
    columns = []
    for step in steps:
        gen, _ = load_generator(checkpoint_path(out, step))
        _, preds = score_generator(gen, pairs, size_px, num)
        columns.append(preds)
    grid = [[gray, *(col[i] for col in columns), real] for i, (gray, real) in enumerate(pairs)]
    labels = ["gray", *(f"step {s}{' *' if s == chosen else ''}" for s in steps), "real"]
    sheet = contact_sheet(grid, labels, cell_px=max(size_px, 96))
    atomic_write(out / "contact_sheet.png", lambda tmp: Image.fromarray(sheet).save(tmp, format="PNG"))
    for ckpt in (out / "checkpoints").glob("step_*.pt"):
        if int(ckpt.stem.split("_")[1]) not in steps:
            ckpt.unlink()
