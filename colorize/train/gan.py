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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from colorize.atomic import atomic_write
from colorize.config import RecipeConfig
from colorize.data import CrappifiedPhotos, training_photos, validation_pairs, validation_photos
from colorize.color.tensors import recolor
from colorize.errors import ConfigError
from colorize.losses import Objective, adversarial_loss
from colorize.losses.adversarial import BeganBalance, clip_weights, diff_augment, gradient_penalty, r1_penalty
from colorize.models import create_critic
from colorize.models.critic import remove_spectral_norm
from colorize.sheets import contact_sheet
from colorize.train.common import (
    Numerics, optimizer_step, StageContext, StepLog, StopRequest, TrainState, all_mean, begin_stage, broadcast_flag,
    done_hash, finish_stage, stage_hash, wrap_ddp,
)
from colorize.train.gan_report import checkpoint_path, finish_outputs
from colorize.train.scoring import score_generator
from colorize.weights import load_generator, read_checkpoint, save_checkpoint

log = logging.getLogger(__name__)

METRIC_FIELDS = ["step", "score", "ab_mae", "ab_mae_gray", "psnr", "colorfulness", "colorfulness_real", "colorfulness_gap",
                 "ab_diversity", "ab_diversity_real", "acc_real", "acc_fake", "adv_grad_norm", "began_M"]
# Training dynamics averaged over the generator steps since the previous evaluation.
_DYNAMICS = ("acc_real", "acc_fake", "adv_grad_norm")
# GAN batches draw sample ids from their own range, disjoint from the earlier stages'.
_ID_OFFSET = 3 * 10**12


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
    """Per-checkpoint metrics, one row per scored step (began's M only where the loss is began)."""

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=[k for k in METRIC_FIELDS if k in rows[0]], extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)

    atomic_write(path, write)


class GanPhase:
    """The GAN phase's networks, optimisers and bookkeeping, and its three moves: critic steps, one generator step,
    and a scored checkpoint. `run` drives them."""

    def __init__(self, cfg: RecipeConfig, ctx: StageContext, gen_path: Path, crit_path: Path, out: Path, name: str) -> None:
        g = self.g = cfg.gan
        self.ctx, self.out, self.name, self.adv, self.model_cfg = ctx, out, name, adversarial_loss(g.loss), cfg.model
        self.val_pairs = validation_pairs(validation_photos(ctx.data_dir, cfg.data, 2 * g.size_px, g.n_val_images), g.size_px)
        self.data = CrappifiedPhotos(training_photos(ctx.data_dir, cfg.data, 2 * g.size_px), g.size_px, cfg.data, seed=cfg.data.seed)
        num = self.num = Numerics.for_stage(cfg.train, ctx.device)
        gen, self.meta = load_generator(gen_path)
        self.gen = num.model(gen).train()
        crit = create_critic(cfg.critic, autoencoder=self.adv.equilibrium)
        if self.adv.equilibrium:
            log.info("%s: began trains its autoencoder critic from scratch (the pretrained classifier does not apply)", name)
        else:
            crit.load_state_dict(read_checkpoint(crit_path, kind="critic")["state_dict"])
        if self.adv.weight_clipping:  # WGAN as published: plain weights, clipped from the start
            remove_spectral_norm(crit)
            clip_weights(crit, g.clip_value)
        self.crit = num.model(crit).train()
        prior = self.meta.get("ab_prior")
        self.loss_fn = num.model(Objective(cfg.loss, cfg.model, None if prior is None else prior.numpy()))
        # WGAN as published trains both networks with RMSProp (momentum destabilised it); the others with Adam (0, 0.9).
        optim = (lambda params, lr: torch.optim.RMSprop(params, lr=lr)) if self.adv.weight_clipping else \
            (lambda params, lr: torch.optim.Adam(params, lr=lr, betas=(0.0, 0.9)))
        self.opt_g = optim(self.gen.parameters(), g.lr_gen)
        self.opt_c = optim(self.crit.parameters(), g.lr_gen * g.crit_lr_multiple)
        self.scaler_g, self.scaler_c = num.scaler(), num.scaler()
        torch.manual_seed(cfg.data.seed)  # DiffAugment and wgan-gp draw from it: a rerun is the same run
        self.resume = TrainState(out / "last.pt", self.gen, "generator", cfg.model, ctx, critic=self.crit, optimizer=self.opt_g,
                                 critic_optimizer=self.opt_c, scaler=self.scaler_g, critic_scaler=self.scaler_c)
        self.state: dict[str, Any] = {"step": 0, "batch_id": 0, "rows": [], "bad_evals": 0, "dynamics": [], "loss": g.loss}
        resumed = self.resume.restore()
        if resumed is not None:
            self.state = resumed["gan_state"]
            if self.state["loss"] != g.loss:
                raise ConfigError(f"{out}: interrupted with gan.loss = {self.state['loss']!r}, now {g.loss!r}; resume "
                                  f"with the same loss, or delete {out / 'last.pt'} to start the GAN phase over")
        self.balance = BeganBalance(g.began_gamma, g.began_lambda_k, self.state.get("began_k", 0.0))
        self.gen_m, self.crit_m = wrap_ddp(self.gen, ctx), wrap_ddp(self.crit, ctx)
        self.step_log = StepLog(out / "train_log.csv", g.log_every_steps, ctx)

    @property
    def out_of_patience(self) -> bool:
        return bool(self.state["rows"]) and self.state["bad_evals"] >= self.g.patience_evals

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        g, ctx = self.g, self.ctx
        first = _ID_OFFSET + (self.state["batch_id"] * ctx.world + ctx.rank) * g.batch_size
        self.state["batch_id"] += 1
        xs, ys = zip(*(self.data[k] for k in range(first, first + g.batch_size)))
        return self.num.batch(torch.stack(xs)), self.num.batch(torch.stack(ys))

    def judge(self, critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The critic's logits on real and on generated images (augmented alike), and the batch it saw."""
        both = torch.cat([real, fake])
        if self.g.diffaugment:
            both = diff_augment(both)
        with self.num.autocast():
            logits = critic(both).float()
        return logits[: len(real)], logits[len(real) :], both

    def train_critic(self) -> dict[str, float]:
        """Critic steps until it is accurate enough (or `max_crit_iters`); its last loss and accuracies."""
        g, adv = self.g, self.adv
        for crit_iters in range(1, g.max_crit_iters + 1):
            x, real = self.next_batch()
            with torch.no_grad(), self.num.autocast():
                out_rgb = self.gen_m(x)
            fake = recolor(out_rgb.float(), real)  # the critic judges colour only, as inference keeps the luminance
            r, f, seen = self.judge(self.crit_m, real, fake)
            loss = adv.critic(r, f, self.balance.k) if adv.equilibrium else adv.critic(r, f)
            if adv.gradient_penalty:
                loss = loss + gradient_penalty(self.crit, seen[: len(real)], seen[len(real) :], g.gp_weight)
            loss = loss + r1_penalty(self.crit, seen[: len(real)], g.r1_gamma)
            optimizer_step(loss, self.opt_c, self.scaler_c)
            if adv.weight_clipping:
                clip_weights(self.crit, g.clip_value)
            acc_real, acc_fake = adv.accuracy(r.detach(), f.detach())
            if adv.equilibrium:
                break  # k_t, not accuracy, balances the two: one critic step per generator step, as the paper
            if not adv.fixed_crit_iters and all_mean((acc_real + acc_fake) / 2, self.ctx) >= g.crit_accuracy_threshold:
                break
        return {"crit": loss.item(), "crit_iters": crit_iters, "acc_real": acc_real, "acc_fake": acc_fake}

    def train_generator(self) -> dict[str, float]:
        """One generator step on the perceptual and adversarial losses; the losses and the adversarial gradient's
        norm at the generator's output."""
        g = self.g
        x, real = self.next_batch()
        # The idle network gets no weight gradients; its plain module is used, so DDP's reducer never sees this pass.
        self.crit.requires_grad_(False)
        with self.num.autocast():
            out_rgb, logits = self.gen_m(x, with_logits=True)
        fake = recolor(out_rgb.float(), real)
        with self.num.autocast():
            perceptual = self.loss_fn(fake, real, logits)
        r, f, _ = self.judge(self.crit, real, fake)
        adversarial = self.adv.generator(f, r.detach())
        (adv_grad,) = torch.autograd.grad(adversarial, fake, retain_graph=True)
        loss = g.perceptual_weight * perceptual + g.adv_weight * adversarial
        optimizer_step(loss, self.opt_g, self.scaler_g)
        self.crit.requires_grad_(True)
        self.state["step"] += 1
        values = {"gen": loss.item(), "perceptual": perceptual.item(), "adv": adversarial.item(),
                  "adv_grad_norm": float(adv_grad.flatten(1).norm(dim=1).mean())}
        if self.adv.equilibrium:
            values["began_M"] = self.balance.update(float(r.detach().mean()), float(f.detach().mean()))
            values["began_k"] = self.state["began_k"] = self.balance.k
        return values

    def save_resume(self) -> None:
        self.resume.save(gan_state=self.state)

    def evaluate(self) -> bool:
        """Checkpoint and score the generator (every rank scores its share), and write the resume point; True when
        patience has run out, the same on every rank."""
        state, step = self.state, self.state["step"]
        if self.ctx.is_main:
            save_checkpoint(checkpoint_path(self.out, step), self.gen, "generator", self.model_cfg, step=step, stage=self.name)
        metrics, preds = score_generator(self.gen, self.val_pairs, self.g.size_px, self.num, ctx=self.ctx)
        dyn = state["dynamics"]
        keys = [*_DYNAMICS, *(["began_M"] if self.adv.equilibrium else [])]
        means = {k: all_mean(float(np.mean([d[k] for d in dyn])), self.ctx) if dyn else float("nan") for k in keys}
        state["dynamics"] = []
        row = {"step": step, **{k: round(v, 4) for k, v in {**metrics, **means}.items()}}
        state["rows"].append(row)
        state["bad_evals"] = 0 if choose(state["rows"]) is row else state["bad_evals"] + 1
        if self.ctx.is_main:
            log.info("%s: step %d | score %.3f | ab_mae %.3f | colorfulness %.1f (real %.1f) | diversity %.2f | "
                     "critic acc real %.2f fake %.2f", self.name, step, row["score"], row["ab_mae"], row["colorfulness"],
                     row["colorfulness_real"], row["ab_diversity"], row["acc_real"], row["acc_fake"])
            write_metrics_csv(self.out / "metrics.csv", state["rows"])
            rows = [[gray, pred, real] for (gray, real), pred in list(zip(self.val_pairs, preds))[: self.g.sheet_images]]
            self.step_log.scores(step, row, contact_sheet(rows, ["gray", f"step {step}", "real"], cell_px=self.g.size_px))
        self.save_resume()
        return broadcast_flag(state["bad_evals"] >= self.g.patience_evals, self.ctx)


def run(cfg: RecipeConfig, ctx: StageContext, gen_path: Path, crit_path: Path, name: str) -> Path:
    """Run (or resume, or skip) the GAN phase; returns the chosen generator checkpoint (`best.pt`)."""
    g = cfg.gan
    if ctx.world > 1 and (adversarial_loss(g.loss).gradient_penalty or g.r1_gamma):
        # Penalties take a second backward through the critic, which DDP does not synchronise.
        raise ConfigError(f"gan.loss = {g.loss!r} / gan.r1_gamma need one process; run without torchrun")
    out = ctx.run_dir / name
    h = stage_hash(name, cfg.gan, cfg.loss, cfg.data, cfg.train, ctx.data_dir.resolve(), done_hash(gen_path.parent),
                   done_hash(crit_path.parent))
    if not begin_stage(out, h, cfg, ctx):
        return out / "best.pt"
    phase = GanPhase(cfg, ctx, gen_path, crit_path, out, name)
    state = phase.state
    with StopRequest(ctx) as stop_request:
        # A run interrupted just after its patience ran out is finished, not resumed. Step 0, the pretrained
        # generator, is a candidate too.
        stopped = phase.out_of_patience or (not state["rows"] and phase.evaluate())
        while not stopped and state["step"] < g.max_steps:
            critic = phase.train_critic()
            values = {**critic, **phase.train_generator()}
            state["dynamics"].append({k: values[k] for k in (*_DYNAMICS, "began_M") if k in values})
            phase.step_log(state["step"], **values)
            evaluated = state["step"] % g.eval_every_steps == 0 or state["step"] == g.max_steps
            if evaluated:
                stopped = phase.evaluate()
            # Between scores only a stop request writes a resume point (an eval step has just written one).
            if stop_request.checkpoint_due(state["step"], g.eval_every_steps, g.max_steps) and not evaluated:
                phase.save_resume()
            stop_request.honour()

    best = choose(state["rows"])
    if ctx.is_main:
        finish_outputs(out, state["rows"], int(best["step"]), phase.val_pairs[: g.sheet_images], g.size_px, phase.num)
        save_checkpoint(out / "crit.pt", phase.crit, "critic", cfg.critic, step=state["step"], stage=name)
    log.info("%s: inflection point at step %d (score %.3f)%s", name, best["step"], best["score"],
             ", stopped early" if stopped else "")
    finish_stage(out, h, ctx, chosen_step=int(best["step"]), chosen_metrics=best, steps_run=state["step"],
                 stopped_early=stopped, generator=str(gen_path), source_generator_step=phase.meta.get("step"), loss=g.loss)
    return out / "best.pt"
