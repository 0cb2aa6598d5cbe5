"""Stage 1: the generator alone, perceptual + pixel loss on crappified inputs.

Progressive sizes (one one-cycle schedule per size, as DeOldify trained), the encoder frozen for the first part
(its learning rate held at 0, which unlike `requires_grad` toggling stays valid under DDP; with `freeze_encoder_bn`
its BatchNorm statistics too), then unfrozen at a tenth of the decoder's rate.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image

from colorize.atomic import atomic_write
from colorize.config import PretrainGenConfig, RecipeConfig, to_dict
from colorize.data import CrappifiedPhotos, StepBatches, step_loader, training_photos, validation_pairs, validation_photos
from colorize.losses import Objective
from colorize.losses.color import ab_prior
from colorize.losses.objective import needs_prior
from colorize.models import count_parameters, create_generator
from colorize.sheets import contact_sheet
from colorize.train.common import (
    Numerics, optimizer_step, StageContext, StepLog, StopRequest, begin_stage, finish_stage, TrainState,
    gather_digests, stage_hash, wrap_ddp,
)
from colorize.train.scoring import score_generator
from colorize.weights import save_checkpoint, unwrap

log = logging.getLogger(__name__)

NAME = "1-pretrain-gen"
ENCODER_LR_FACTOR = 0.1
SAMPLE_ROWS = 8


def stage_dir(ctx: StageContext) -> Path:
    """This stage's folder in the run."""
    return ctx.run_dir / NAME


def digest(cfg: RecipeConfig, ctx: StageContext) -> str:
    """Everything stage 1's result depends on."""
    return stage_hash(NAME, cfg.model, cfg.data, cfg.loss, cfg.train, cfg.pretrain_gen, ctx.data_dir.resolve())


def _phases(sizes: tuple[int, ...], steps: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(size_px, first_step, stop_step) per progressive-resizing phase."""
    out, start = [], 0
    for size, n in zip(sizes, steps):
        out.append((size, start, start + n))
        start += n
    return out


def _optimiser(gen: torch.nn.Module, pg: PretrainGenConfig) -> torch.optim.Optimizer:
    """AdamW with two groups: the encoder at ENCODER_LR_FACTOR of the decoder's rate (0 while frozen)."""
    enc_ids = {id(p) for p in gen.encoder.parameters()}
    groups = [
        {"params": [p for p in gen.parameters() if id(p) in enc_ids], "lr_factor": ENCODER_LR_FACTOR},
        {"params": [p for p in gen.parameters() if id(p) not in enc_ids], "lr_factor": 1.0},
    ]
    return torch.optim.AdamW(groups, lr=pg.lr, weight_decay=pg.weight_decay)


def _write_samples(out: Path, gen: torch.nn.Module, val_pool: list, size_px: int, num: Numerics,
                   ctx: StageContext) -> dict[str, float]:
    """Score the generator on the validation photos (split across ranks) and keep a sheet of some; returns the
    metrics."""
    pairs = validation_pairs(val_pool, size_px)
    metrics, preds = score_generator(gen, pairs, size_px, num, ctx=ctx)
    if ctx.is_main:
        rows = [[g, p, r] for (g, r), p in list(zip(pairs, preds))[:SAMPLE_ROWS]]
        sheet = contact_sheet(rows, ["gray", "generated", "real"], cell_px=size_px)
        log.info("%s: validation %s", NAME, ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
        atomic_write(out / "samples.png", lambda tmp: Image.fromarray(sheet).save(tmp, format="PNG"))
    return metrics


def run(cfg: RecipeConfig, ctx: StageContext) -> Path:
    """Train (or resume, or skip) stage 1; returns the path of the pretrained generator."""
    pg = cfg.pretrain_gen
    out = stage_dir(ctx)
    h = digest(cfg, ctx)
    if not begin_stage(out, h, cfg, ctx):
        return out / "gen.pt"
    max_size = max(pg.sizes_px)
    train = training_photos(ctx.data_dir, cfg.data, 2 * max_size)
    val_pool = validation_photos(ctx.data_dir, cfg.data, 2 * max_size)
    log.info("%s: %d training photos, %d validation photos", NAME, len(train), len(val_pool))

    torch.manual_seed(cfg.data.seed)
    num = Numerics.for_stage(cfg.train, ctx.device)
    encoder_weights = Path(pg.encoder_weights) if pg.encoder_weights else None
    gen = num.model(create_generator(cfg.model, pretrained=pg.pretrained_encoder, encoder_weights=encoder_weights))
    opt, scaler = _optimiser(gen, pg), num.scaler()
    resume = TrainState(out / "last.pt", gen, "generator", cfg.model, ctx, optimizer=opt, scaler=scaler)
    resumed = resume.restore()
    start, sched_state = (resumed["step"], resumed["scheduler"]) if resumed else (0, None)
    # The corpus's own ab distribution, for the objective's rebalancing: computed once, then carried in every
    # checkpoint (the GAN stage reads it from gen.pt).
    prior = None
    if needs_prior(cfg.loss):
        prior = resumed["ab_prior"] if resumed else torch.from_numpy(ab_prior(train.decoded(), seed=cfg.data.seed))
    loss_fn = num.model(Objective(cfg.loss, cfg.model, None if prior is None else prior.numpy()))
    log.info("%s: generator %s, %.1fM parameters, on %s; loss: %s", NAME, cfg.model.arch, count_parameters(gen) / 1e6, ctx.device, loss_fn.description)
    phases = _phases(pg.sizes_px, pg.steps_per_size)
    total, frozen_until = phases[-1][2], int(pg.frozen_fraction * phases[-1][2])
    model = wrap_ddp(gen, ctx).train()
    step_log = StepLog(out / "train_log.csv", pg.log_every_steps, ctx)

    with StopRequest(ctx) as stop_request:
        for size, first, stop in phases:
            if start >= stop:
                continue
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[pg.lr * g["lr_factor"] for g in opt.param_groups],
                                                        total_steps=stop - first)
            if sched_state is not None and start > first:
                # Building the scheduler reset the optimiser's rates and momenta to its first step's; a run resumed
                # mid-phase needs those it stopped at.
                sched.load_state_dict(sched_state)
                opt.load_state_dict(resumed["optimizer"])
            sched_state = None
            data = CrappifiedPhotos(train, size, cfg.data, seed=cfg.data.seed)
            batches = step_loader(data, StepBatches(max(start, first), stop, pg.batch_size, ctx.rank, ctx.world), cfg.data.num_workers)
            for step, (x, y) in enumerate(batches, start=max(start, first)):
                if step < frozen_until:
                    opt.param_groups[0]["lr"] = 0.0  # encoder frozen: OneCycleLR recomputes it each step
                unwrap(gen).encoder.train(not (step < frozen_until and pg.freeze_encoder_bn))
                with num.autocast():
                    rgb, logits = model(num.batch(x), with_logits=True)
                    loss = loss_fn(rgb, num.batch(y), logits)
                optimizer_step(loss, opt, scaler)
                sched.step()
                step_log(step + 1, loss=loss.item(), lr=opt.param_groups[1]["lr"], size=size)
                if stop_request.checkpoint_due(step + 1, pg.checkpoint_every_steps, total):
                    resume.save(step=step + 1, stage=NAME, scheduler=sched.state_dict(), ab_prior=prior)
                stop_request.honour()
            start = stop

    digests = gather_digests(gen, ctx)
    if ctx.is_main:
        save_checkpoint(out / "gen.pt", gen, "generator", cfg.model, step=total, stage=NAME, config=to_dict(cfg), ab_prior=prior)
    metrics = _write_samples(out, gen, val_pool, max_size, num, ctx)
    finish_stage(out, h, ctx, steps=total, loss=loss_fn.description, val_metrics=metrics, rank_weight_digests=digests)
    return out / "gen.pt"
