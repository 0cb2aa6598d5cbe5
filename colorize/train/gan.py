"""Stage 4: the short GAN phase, and the automatic "inflection point".

DeOldify stopped its NoGAN phase by eye, at the moment colour peaks before artifacts set in. Here every
`eval_every_steps` generator steps the generator is checkpointed and scored on held-out photos through the real
inference path (`colorize.metrics.evaluate`; `score` = ab error + colourfulness gap, lower is better). Step 0, the
pretrained generator itself, is scored too, so a GAN phase that only hurts chooses it. After `patience_evals`
scores without improvement the phase stops; the best checkpoint is the inflection point. A checkpoint whose ab error
is worse than the gray image's (no colour at all) is disqualified: the GAN's extra colour must not come from
colours that are, on average, wrong.

The loop alternates like fastai's AdaptiveGANSwitcher: critic steps until its loss falls below
`crit_loss_threshold` (at most `max_crit_iters`), then one generator step.
"""

from __future__ import annotations

import csv
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from colorize.atomic import atomic_write
from colorize.config import RecipeConfig
from colorize.data import CrappifiedPhotos, list_photos, load_pool, split_photos, validation_pairs
from colorize.inference import recolor
from colorize.losses import PerceptualLoss, critic_loss, generator_adv_loss
from colorize.models import create_critic
from colorize.sheets import contact_sheet
from colorize.train.common import (
    StageContext,
    StepLog,
    all_mean,
    begin_stage,
    broadcast_flag,
    done_hash,
    finish_stage,
    load_resume,
    score_generator,
    stage_hash,
    wrap_ddp,
)
from colorize.weights import load_generator, read_checkpoint, save_checkpoint, unwrap

log = logging.getLogger(__name__)

METRIC_FIELDS = ["step", "score", "ab_mae", "ab_mae_gray", "psnr", "colorfulness", "colorfulness_real", "colorfulness_gap"]
_SHEET_COLUMNS = 6
# GAN batches draw sample ids from their own range, disjoint from the earlier stages'.
_ID_OFFSET = 3 * 10**12


def _ckpt(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step_{step:06d}.pt"


def choose(rows: list[dict[str, float]]) -> dict[str, float]:
    """The inflection point: the lowest score (earliest on ties) among checkpoints that beat gray on ab error.

    When none does, the one closest to it (lowest ab error).
    """
    better_than_gray = [r for r in rows if r["ab_mae"] < r["ab_mae_gray"]]
    if better_than_gray:
        return min(better_than_gray, key=lambda r: (r["score"], r["step"]))
    return min(rows, key=lambda r: (r["ab_mae"], r["step"]))


def write_metrics_csv(path: Path, rows: list[dict[str, float]]) -> None:
    """Per-checkpoint metrics, one row per scored step."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=METRIC_FIELDS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)

    atomic_write(path, write)


def plot_metrics(path: Path, rows: list[dict[str, float]], chosen_step: int) -> None:
    """Score, ab error and colourfulness gap against step, with the chosen checkpoint marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for key in ("score", "ab_mae", "colorfulness_gap"):
        ax.plot(steps, [r[key] for r in rows], marker="o", label=key)
    ax.axhline(rows[0]["ab_mae_gray"], color="tab:orange", linestyle=":", label="ab_mae of the gray image")
    ax.axvline(chosen_step, color="k", linestyle="--", label=f"chosen: step {chosen_step}")
    ax.set_xlabel("GAN generator step")
    ax.set_ylabel("lower is better")
    ax.set_title("GAN phase: validation metrics per checkpoint")
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def _sheet_steps(rows: list[dict[str, float]], chosen: int) -> list[int]:
    steps = [int(r["step"]) for r in rows]
    idx = np.unique(np.linspace(0, len(steps) - 1, min(_SHEET_COLUMNS, len(steps))).round().astype(int))
    return sorted({steps[i] for i in idx} | {chosen})


def run(cfg: RecipeConfig, ctx: StageContext, gen_path: Path, crit_path: Path, name: str) -> Path:
    """Run (or resume, or skip) the GAN phase; returns the chosen generator checkpoint (`best.pt`)."""
    g = cfg.gan
    out = ctx.run_dir / name
    h = stage_hash(name, cfg.gan, cfg.loss, cfg.data, ctx.data_dir.resolve(), done_hash(gen_path.parent), done_hash(crit_path.parent))
    if not begin_stage(out, h, cfg, ctx):
        return out / "best.pt"

    train_paths, val_paths = split_photos(list_photos(ctx.data_dir), ctx.data_dir, cfg.data.val_fraction)
    pool = load_pool(train_paths, 2 * g.size_px)
    val_pairs = validation_pairs(load_pool(val_paths or train_paths[:1], 2 * g.size_px)[: g.n_val_images], g.size_px)
    data = CrappifiedPhotos(pool, g.size_px, cfg.data, seed=cfg.data.seed)

    gen, meta = load_generator(gen_path)
    gen = gen.to(ctx.device).train()
    model_cfg = cfg.model
    crit = create_critic(cfg.critic)
    crit.load_state_dict(read_checkpoint(crit_path, kind="critic")["state_dict"])
    crit = crit.to(ctx.device).train()
    loss_fn = PerceptualLoss(cfg.loss).to(ctx.device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=g.lr_gen, betas=(0.0, 0.9))
    opt_c = torch.optim.Adam(crit.parameters(), lr=g.lr_gen * g.crit_lr_multiple, betas=(0.0, 0.9))

    state: dict[str, Any] = {"step": 0, "batch_id": 0, "rows": [], "bad_evals": 0}
    resume = load_resume(out)
    if resume is not None:
        gen.load_state_dict(resume["state_dict"])
        crit.load_state_dict(resume["critic"])
        opt_g.load_state_dict(resume["optimizer"])
        opt_c.load_state_dict(resume["critic_optimizer"])
        state = resume["gan_state"]
        torch.set_rng_state(resume["rng"])
    gen_m, crit_m = wrap_ddp(gen, ctx), wrap_ddp(crit, ctx)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        first = _ID_OFFSET + (state["batch_id"] * ctx.world + ctx.rank) * g.batch_size
        state["batch_id"] += 1
        xs, ys = zip(*(data[k] for k in range(first, first + g.batch_size)))
        return torch.stack(xs).to(ctx.device), torch.stack(ys).to(ctx.device)

    def evaluate_now() -> bool:
        """Checkpoint and score the generator; True when patience has run out."""
        stop = False
        if ctx.is_main:
            step = state["step"]
            save_checkpoint(_ckpt(out, step), gen, "generator", model_cfg, step=step, stage=name)
            metrics, _ = score_generator(gen, val_pairs, g.size_px, ctx.device)
            row = {"step": step, **{k: round(v, 4) for k, v in metrics.items()}}
            prev_best = choose(state["rows"])["score"] if state["rows"] else float("inf")
            state["rows"].append(row)
            state["bad_evals"] = 0 if row["score"] < prev_best else state["bad_evals"] + 1
            log.info("%s: step %d | score %.3f | ab_mae %.3f | psnr %.2f | colorfulness %.1f (real %.1f)", name, step,
                     row["score"], row["ab_mae"], row["psnr"], row["colorfulness"], row["colorfulness_real"])
            write_metrics_csv(out / "metrics.csv", state["rows"])
            stop = state["bad_evals"] >= g.patience_evals
            save_checkpoint(out / "last.pt", gen, "generator", model_cfg, critic=unwrap(crit).state_dict(),
                            optimizer=opt_g.state_dict(), critic_optimizer=opt_c.state_dict(), gan_state=state,
                            rng=torch.get_rng_state())
        return broadcast_flag(stop, ctx)

    step_log = StepLog(out / "train_log.csv", g.log_every_steps, ctx)
    stopped = False
    if not state["rows"]:
        stopped = evaluate_now()  # step 0: the pretrained generator is a candidate too
    while not stopped and state["step"] < g.max_steps:
        for crit_iters in range(1, g.max_crit_iters + 1):
            x, real = next_batch()
            with torch.no_grad():
                fake = recolor(gen_m(x), real)  # the critic judges colour only, as inference keeps the luminance
            logits = crit_m(torch.cat([real, fake]))
            lc = critic_loss(logits[: len(real)], logits[len(real) :])
            opt_c.zero_grad(set_to_none=True)
            lc.backward()
            opt_c.step()
            if all_mean(lc.item(), ctx) < g.crit_loss_threshold:
                break
        x, real = next_batch()
        fake = recolor(gen_m(x), real)
        perceptual = loss_fn(fake, real)
        adversarial = generator_adv_loss(crit_m(fake))
        lg = g.perceptual_weight * perceptual + g.adv_weight * adversarial
        opt_g.zero_grad(set_to_none=True)
        lg.backward()
        opt_g.step()
        state["step"] += 1
        step_log(state["step"], gen=lg.item(), perceptual=perceptual.item(), adv=adversarial.item(), crit=lc.item(), crit_iters=crit_iters)
        if state["step"] % g.eval_every_steps == 0 or state["step"] == g.max_steps:
            stopped = evaluate_now()

    best = choose(state["rows"])
    if ctx.is_main:
        _finish_outputs(out, state["rows"], int(best["step"]), val_pairs[: g.sheet_images], g.size_px, ctx)
        save_checkpoint(out / "crit.pt", crit, "critic", cfg.critic, step=state["step"], stage=name)
    log.info("%s: inflection point at step %d (score %.3f)%s", name, best["step"], best["score"],
             ", stopped early" if stopped else "")
    finish_stage(out, h, ctx, chosen_step=int(best["step"]), chosen_metrics=best, steps_run=state["step"],
                 stopped_early=stopped, generator=str(gen_path), source_generator_step=meta.get("step"))
    return out / "best.pt"


def _finish_outputs(out: Path, rows: list[dict[str, float]], chosen: int, pairs: list, size_px: int, ctx: StageContext) -> None:
    """best.pt, the plot, the contact sheet across checkpoints, and pruning of checkpoints nobody needs."""
    shutil.copyfile(_ckpt(out, chosen), out / "best.pt")
    plot_metrics(out / "metrics.png", rows, chosen)
    steps = _sheet_steps(rows, chosen)
    columns = []
    for step in steps:
        gen, _ = load_generator(_ckpt(out, step))
        _, preds = score_generator(gen.to(ctx.device), pairs, size_px, ctx.device)
        columns.append(preds)
    grid = [[gray, *(col[i] for col in columns), real] for i, (gray, real) in enumerate(pairs)]
    labels = ["gray", *(f"step {s}{' *' if s == chosen else ''}" for s in steps), "real"]
    sheet = contact_sheet(grid, labels, cell_px=max(size_px, 96))
    atomic_write(out / "contact_sheet.png", lambda tmp: Image.fromarray(sheet).save(tmp, format="PNG"))
    for ckpt in (out / "checkpoints").glob("step_*.pt"):
        if int(ckpt.stem.split("_")[1]) not in steps:
            ckpt.unlink()
