"""Stage 4: the short GAN phase, and the automatic "inflection point".

DeOldify stopped its NoGAN phase by eye, at the moment colour peaks before artifacts set in. Here every
`eval_every_steps` generator steps the generator is checkpointed and scored on held-out photos through the real
inference path (`colorize.metrics.evaluate`). Step 0, the pretrained generator itself, is scored too, so a GAN
phase that only hurts chooses it. The inflection point (`choose`) puts accuracy first: of the checkpoints whose ab
error is within `ACCURACY_TOLERANCE` (5%) of the lowest, the one whose colourfulness is closest to the real photos'.
A checkpoint whose ab error is worse than the gray image's (no colour at all) is disqualified: the GAN's extra
colour must not come from colours that are, on average, wrong. After `patience_evals` scores that do not become the
choice the phase stops. Ctrl-C or SIGTERM stops it after the current generator step with that step's resume point
(`StopRequest`); scoring stays on its own schedule.

The loop alternates like fastai's AdaptiveGANSwitcher: critic steps, then one generator step. How many critic
steps depends on `gan.loss` (see `colorize.losses.adversarial`): for the classifier losses until the critic gets
`crit_accuracy_threshold` of the batch right (at most `max_crit_iters`), for wgan-gp always `max_crit_iters`.

Besides the validation metrics, the stage records why a GAN phase went well or badly: the critic's accuracy on
real and on generated images, the norm of the adversarial gradient reaching the generator's output (it vanishes
with the saturating minimax loss), and the spread of colour across validation photos (`ab_diversity`: it falls
towards 0 when every photo gets the same tint, i.e. mode collapse).
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
from colorize.data import CrappifiedPhotos, training_photos, validation_pairs, validation_photos
from colorize.colour.tensors import recolor
from colorize.errors import ConfigError
from colorize.losses import Objective, adversarial_loss
from colorize.losses.adversarial import diff_augment, gradient_penalty, r1_penalty
from colorize.models import create_critic
from colorize.sheets import contact_sheet
from colorize.train.common import (
    Numerics,
    optimizer_step,
    StageContext,
    StepLog,
    StopRequest,
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

METRIC_FIELDS = ["step", "score", "ab_mae", "ab_mae_gray", "psnr", "colorfulness", "colorfulness_real", "colorfulness_gap",
                 "ab_diversity", "ab_diversity_real", "acc_real", "acc_fake", "adv_grad_norm"]
# Training dynamics averaged over the generator steps since the previous evaluation.
_DYNAMICS = ("acc_real", "acc_fake", "adv_grad_norm")
_SHEET_COLUMNS = 6
# GAN batches draw sample ids from their own range, disjoint from the earlier stages'.
_ID_OFFSET = 3 * 10**12


def _ckpt(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"step_{step:06d}.pt"


# How much ab error (relative) `choose` gives up for colourfulness. Measured on v4's GAN phase (docs/experiments/2026-11-30-models-v3-to-v7.md):
# ranking by ab error + colourfulness gap alone chose step 100, whose held-out ab error was worse than gray's.
ACCURACY_TOLERANCE = 0.05


def choose(rows: list[dict[str, float]], order: str = "step") -> dict[str, float]:
    """The inflection point (also the decoding knob's setting, `colorize.train.recipe.tune_decoding`): among rows
    that beat gray on ab error and are within ACCURACY_TOLERANCE of the lowest ab error, the smallest colourfulness
    gap (the lowest `order`, e.g. the earliest step, on ties). When none beats gray, the one closest to it (lowest
    ab error)."""
    better_than_gray = [r for r in rows if r["ab_mae"] < r["ab_mae_gray"]]
    if not better_than_gray:
        return min(rows, key=lambda r: (r["ab_mae"], r[order]))
    bound = (1 + ACCURACY_TOLERANCE) * min(r["ab_mae"] for r in better_than_gray)
    return min((r for r in better_than_gray if r["ab_mae"] <= bound), key=lambda r: (r["colorfulness_gap"], r[order]))


def write_metrics_csv(path: Path, rows: list[dict[str, float]]) -> None:
    """Per-checkpoint metrics, one row per scored step."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=METRIC_FIELDS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)

    atomic_write(path, write)


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


def run(cfg: RecipeConfig, ctx: StageContext, gen_path: Path, crit_path: Path, name: str) -> Path:
    """Run (or resume, or skip) the GAN phase; returns the chosen generator checkpoint (`best.pt`)."""
    g = cfg.gan
    adv = adversarial_loss(g.loss)
    if ctx.world > 1 and (adv.gradient_penalty or g.r1_gamma):
        # Penalties take a second backward through the critic, which DDP does not synchronise.
        raise ConfigError(f"gan.loss = {g.loss!r} / gan.r1_gamma need one process; run without torchrun")
    out = ctx.run_dir / name
    h = stage_hash(name, cfg.gan, cfg.loss, cfg.data, cfg.train, ctx.data_dir.resolve(), done_hash(gen_path.parent),
                   done_hash(crit_path.parent))
    if not begin_stage(out, h, cfg, ctx):
        return out / "best.pt"

    val_pairs = validation_pairs(validation_photos(ctx.data_dir, cfg.data, 2 * g.size_px, g.n_val_images), g.size_px)
    data = CrappifiedPhotos(training_photos(ctx.data_dir, cfg.data, 2 * g.size_px), g.size_px, cfg.data, seed=cfg.data.seed)

    num = Numerics.for_stage(cfg.train, ctx.device)
    gen, meta = load_generator(gen_path)
    gen = num.model(gen).train()
    model_cfg = cfg.model
    crit = create_critic(cfg.critic)
    crit.load_state_dict(read_checkpoint(crit_path, kind="critic")["state_dict"])
    crit = num.model(crit).train()
    prior = meta.get("ab_prior")
    loss_fn = num.model(Objective(cfg.loss, cfg.model, None if prior is None else prior.numpy()))
    opt_g = torch.optim.Adam(gen.parameters(), lr=g.lr_gen, betas=(0.0, 0.9))
    opt_c = torch.optim.Adam(crit.parameters(), lr=g.lr_gen * g.crit_lr_multiple, betas=(0.0, 0.9))
    scaler_g, scaler_c = num.scaler(), num.scaler()

    torch.manual_seed(cfg.data.seed)  # DiffAugment and wgan-gp draw from it: a rerun is the same run
    state: dict[str, Any] = {"step": 0, "batch_id": 0, "rows": [], "bad_evals": 0, "dynamics": [], "loss": g.loss}
    resume = load_resume(out)
    if resume is not None:
        gen.load_state_dict(resume["state_dict"])
        crit.load_state_dict(resume["critic"])
        opt_g.load_state_dict(resume["optimizer"])
        opt_c.load_state_dict(resume["critic_optimizer"])
        scaler_g.load_state_dict(resume["scaler"])
        scaler_c.load_state_dict(resume["critic_scaler"])
        state = resume["gan_state"]
        if state["loss"] != g.loss:
            raise ConfigError(f"{out}: interrupted with gan.loss = {state['loss']!r}, now {g.loss!r}; resume with "
                              f"the same loss, or delete {out / 'last.pt'} to start the GAN phase over")
        torch.set_rng_state(resume["rng"])
    gen_m, crit_m = wrap_ddp(gen, ctx), wrap_ddp(crit, ctx)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        first = _ID_OFFSET + (state["batch_id"] * ctx.world + ctx.rank) * g.batch_size
        state["batch_id"] += 1
        xs, ys = zip(*(data[k] for k in range(first, first + g.batch_size)))
        return num.batch(torch.stack(xs)), num.batch(torch.stack(ys))

    def judge(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The critic's logits on real and on generated images (augmented alike), and the batch it saw."""
        both = torch.cat([real, fake])
        if g.diffaugment:
            both = diff_augment(both)
        with num.autocast():
            logits = critic(both).float()
        return logits[: len(real)], logits[len(real) :], both

    def save_resume() -> None:
        save_checkpoint(out / "last.pt", gen, "generator", model_cfg, critic=unwrap(crit).state_dict(),
                        optimizer=opt_g.state_dict(), critic_optimizer=opt_c.state_dict(),
                        scaler=scaler_g.state_dict(), critic_scaler=scaler_c.state_dict(), gan_state=state,
                        rng=torch.get_rng_state())

    def evaluate_now() -> bool:
        """Checkpoint and score the generator, and write the resume point; True when patience has run out."""
        stop = False
        if ctx.is_main:
            step = state["step"]
            save_checkpoint(_ckpt(out, step), gen, "generator", model_cfg, step=step, stage=name)
            metrics, _ = score_generator(gen, val_pairs, g.size_px, num)
            dyn = state["dynamics"]
            means = {k: float(np.mean([d[k] for d in dyn])) if dyn else float("nan") for k in _DYNAMICS}
            state["dynamics"] = []
            row = {"step": step, **{k: round(v, 4) for k, v in {**metrics, **means}.items()}}
            state["rows"].append(row)
            state["bad_evals"] = 0 if choose(state["rows"]) is row else state["bad_evals"] + 1
            log.info("%s: step %d | score %.3f | ab_mae %.3f | colorfulness %.1f (real %.1f) | diversity %.2f | "
                     "critic acc real %.2f fake %.2f", name, step, row["score"], row["ab_mae"], row["colorfulness"],
                     row["colorfulness_real"], row["ab_diversity"], row["acc_real"], row["acc_fake"])
            write_metrics_csv(out / "metrics.csv", state["rows"])
            stop = state["bad_evals"] >= g.patience_evals
            save_resume()
        return broadcast_flag(stop, ctx)

    step_log = StepLog(out / "train_log.csv", g.log_every_steps, ctx)
    with StopRequest(ctx) as stop_request:
        # A run interrupted just after its patience ran out is finished, not resumed.
        stopped = bool(state["rows"]) and state["bad_evals"] >= g.patience_evals
        if not state["rows"]:
            stopped = evaluate_now()  # step 0: the pretrained generator is a candidate too
        while not stopped and state["step"] < g.max_steps:
            for crit_iters in range(1, g.max_crit_iters + 1):
                x, real = next_batch()
                with torch.no_grad(), num.autocast():
                    out_rgb = gen_m(x)
                fake = recolor(out_rgb.float(), real)  # the critic judges colour only, as inference keeps the luminance
                r, f, seen = judge(crit_m, real, fake)
                lc = adv.critic(r, f)
                if adv.gradient_penalty:
                    lc = lc + gradient_penalty(crit, seen[: len(real)], seen[len(real) :], g.gp_weight)
                lc = lc + r1_penalty(crit, seen[: len(real)], g.r1_gamma)
                optimizer_step(lc, opt_c, scaler_c)
                acc_real, acc_fake = adv.accuracy(r.detach(), f.detach())
                if not adv.fixed_crit_iters and all_mean((acc_real + acc_fake) / 2, ctx) >= g.crit_accuracy_threshold:
                    break
            x, real = next_batch()
            # The idle network gets no weight gradients; its plain module is used, so DDP's reducer never sees this
            # pass.
            crit.requires_grad_(False)
            with num.autocast():
                out_rgb, logits = gen_m(x, with_logits=True)
            fake = recolor(out_rgb.float(), real)
            with num.autocast():
                perceptual = loss_fn(fake, real, logits)
            r, f, _ = judge(crit, real, fake)
            adversarial = adv.generator(f, r.detach())
            (adv_grad,) = torch.autograd.grad(adversarial, fake, retain_graph=True)
            lg = g.perceptual_weight * perceptual + g.adv_weight * adversarial
            optimizer_step(lg, opt_g, scaler_g)
            crit.requires_grad_(True)
            state["step"] += 1
            dynamics = {"acc_real": acc_real, "acc_fake": acc_fake,
                        "adv_grad_norm": float(adv_grad.flatten(1).norm(dim=1).mean())}
            state["dynamics"].append(dynamics)
            step_log(state["step"], gen=lg.item(), perceptual=perceptual.item(), adv=adversarial.item(), crit=lc.item(),
                     crit_iters=crit_iters, **dynamics)
            evaluated = state["step"] % g.eval_every_steps == 0 or state["step"] == g.max_steps
            if evaluated:
                stopped = evaluate_now()
            # Between scores only a stop request writes a resume point (an eval step has just written one).
            if stop_request.checkpoint_due(state["step"], g.eval_every_steps, g.max_steps) and not evaluated:
                save_resume()
            stop_request.honour()

    best = choose(state["rows"])
    if ctx.is_main:
        _finish_outputs(out, state["rows"], int(best["step"]), val_pairs[: g.sheet_images], g.size_px, num)
        save_checkpoint(out / "crit.pt", crit, "critic", cfg.critic, step=state["step"], stage=name)
    log.info("%s: inflection point at step %d (score %.3f)%s", name, best["step"], best["score"],
             ", stopped early" if stopped else "")
    finish_stage(out, h, ctx, chosen_step=int(best["step"]), chosen_metrics=best, steps_run=state["step"],
                 stopped_early=stopped, generator=str(gen_path), source_generator_step=meta.get("step"), loss=g.loss)
    return out / "best.pt"


def _finish_outputs(out: Path, rows: list[dict[str, float]], chosen: int, pairs: list, size_px: int, num: Numerics) -> None:
    """best.pt, the plot, the contact sheet across checkpoints, and pruning of checkpoints nobody needs."""
    shutil.copyfile(_ckpt(out, chosen), out / "best.pt")
    plot_metrics(out / "metrics.png", rows, chosen, read_step_log(out / "train_log.csv"))
    steps = _sheet_steps(rows, chosen)
    columns = []
    for step in steps:
        gen, _ = load_generator(_ckpt(out, step))
        _, preds = score_generator(gen, pairs, size_px, num)
        columns.append(preds)
    grid = [[gray, *(col[i] for col in columns), real] for i, (gray, real) in enumerate(pairs)]
    labels = ["gray", *(f"step {s}{' *' if s == chosen else ''}" for s in steps), "real"]
    sheet = contact_sheet(grid, labels, cell_px=max(size_px, 96))
    atomic_write(out / "contact_sheet.png", lambda tmp: Image.fromarray(sheet).save(tmp, format="PNG"))
    for ckpt in (out / "checkpoints").glob("step_*.pt"):
        if int(ckpt.stem.split("_")[1]) not in steps:
            ckpt.unlink()
