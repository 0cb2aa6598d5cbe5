"""`colorize train hints`: fine-tune a trained colorizer to follow colour hints.

Zhang et al. 2017 (*Real-Time User-Guided Image Colorization with Learned Deep Priors*) trained with hints simulated
from the true colour: a random number of points per image, each revealing the mean colour of a small patch. Here
the base model (the shipped default unless `hints.base` names another) gains a zero-initialised hint input
(`colorize.models.generator`), so training starts from exactly the base model, and goes on with stage 1's loss on
stage 1's crappified inputs. Half the images get no hint, so automatic colour is kept.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from colorize.config import HintsConfig, ModelConfig, RecipeConfig, hint_input_kind, to_dict
from colorize.data import CrappifiedPhotos, StepBatches, step_loader, training_photos, validation_pairs, validation_photos
from colorize.errors import ConfigError, WeightsError
from colorize.hint_sampling import sample_point_hints
from colorize.train.hint_field import HINT_CHANNELS, hint_field
from colorize.color.tensors import rgb_to_chroma
from colorize.pipeline import InferenceConfig, render_factor_for
from colorize.losses import Objective
from colorize.losses.color import ab_prior
from colorize.losses.objective import needs_prior
from colorize.models import create_generator
from colorize.train.common import (
    Numerics, StageContext, StepLog, StopRequest, begin_stage, finish_stage, TrainState, optimizer_step,
    stage_hash, wrap_ddp,
)
from colorize.train.scoring import score_generator
from colorize.weights import load_generator, resolve_weights, save_checkpoint, sha256_file, unwrap

log = logging.getLogger(__name__)

NAME = "hints"


def simulated_hints(target: torch.Tensor, cfg: HintsConfig, rng: np.random.Generator) -> np.ndarray:
    """(3, S, S) RGB target -> (3, S, S) hint map as `colorize.hints` renders it: none with probability
    `no_hint_prob`, else a geometric number of square patches, each holding its mean true chroma."""
    s = target.shape[-1]
    out = np.zeros((HINT_CHANNELS, s, s), np.float32)
    if rng.random() < cfg.no_hint_prob:
        return out
    chroma = 2 * rgb_to_chroma(target[None].float())[0].numpy()
    for _ in range(min(cfg.max_hints, int(rng.geometric(cfg.geometric_p)))):
        k = int(rng.integers(1, min(cfg.max_patch_px, s) + 1))
        y, x = (int(v) for v in rng.integers(0, s - k + 1, size=2))
        out[:2, y : y + k, x : x + k] = chroma[:, y : y + k, x : x + k].mean(axis=(1, 2), keepdims=True)
        out[2, y : y + k, x : x + k] = 1.0
    return out


class HintedPhotos(Dataset):
    """Sample id k -> (damaged gray, colour target, the model's hint input), the hints simulated from the target.

    Drawn here rather than per batch in the training loop so the data workers do it: spreading the hints costs
    ~20 ms an image on a CPU core, which would starve a GPU. A sample's hints depend only on k, so a resumed run
    draws the same ones."""

    def __init__(self, photos: CrappifiedPhotos, cfg: HintsConfig, seed: int) -> None:
        self.photos, self.cfg, self.seed = photos, cfg, seed

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y = self.photos[k]
        # A stream of its own: [seed, k] already draws the sample's crop and damage.
        hints = simulated_hints(y, self.cfg, np.random.default_rng([self.seed, k, 1]))
        if self.cfg.spread_input:
            hints = hint_field(hints, x[0].float().numpy(), self.cfg.wide_input)
        return x, y, torch.from_numpy(hints)


def hint_aware(base_model: nn.Module, model_cfg: ModelConfig, base: Path) -> nn.Module:
    """A generator built from `model_cfg` holding `base_model`'s weights (from file `base`), which it reproduces
    exactly: hint input channels the base lacks start at zero, and a hint-aware base's come first."""
    gen = create_generator(model_cfg)
    state = base_model.state_dict()
    if "hint_in.weight" in state:
        grown = torch.zeros_like(gen.hint_in.weight)
        grown[:, : state["hint_in.weight"].shape[1]] = state["hint_in.weight"]
        state["hint_in.weight"] = grown
    missing, unexpected = gen.load_state_dict(state, strict=False)
    if unexpected or set(missing) - {"hint_in.weight", "hint_in.bias"}:
        raise WeightsError(f"{base}: weights do not fit a hint-aware {model_cfg.arch} (missing {missing}, unexpected {unexpected})")
    return gen


def run(cfg: RecipeConfig, ctx: StageContext) -> Path:
    """Fine-tune (or resume, or skip) the hint-aware model; returns RUN/hints/gen.pt."""
    hc = cfg.hints
    out = ctx.run_dir / NAME
    base = resolve_weights(Path(hc.base) if hc.base else None)
    digest = stage_hash(NAME, hc, cfg.data, cfg.loss, cfg.train, sha256_file(base), ctx.data_dir.resolve())
    if not begin_stage(out, digest, cfg, ctx):
        return out / "gen.pt"
    base_model, meta = load_generator(base)
    if hc.wide_input and not hc.spread_input:
        raise ConfigError("hints.wide_input needs hints.spread_input")
    model_cfg = dataclasses.replace(base_model.cfg, hint_input=hint_input_kind(hc.spread_input, hc.wide_input))
    torch.manual_seed(cfg.data.seed)
    gen = hint_aware(base_model, model_cfg, base)
    num = Numerics.for_stage(cfg.train, ctx.device)
    gen = num.model(gen)
    train = training_photos(ctx.data_dir, cfg.data, 2 * hc.size_px)
    val_pool = validation_photos(ctx.data_dir, cfg.data, 2 * hc.size_px)
    # The corpus's ab distribution, when the objective rebalances: the base's own if it carries one (same seed, so
    # a resumed run computes the same).
    prior = meta["ab_prior"].numpy() if meta.get("ab_prior") is not None else None
    if prior is None and needs_prior(cfg.loss):
        prior = ab_prior(train.decoded(), seed=cfg.data.seed)
    loss_fn = num.model(Objective(cfg.loss, model_cfg, prior))
    hint_params = list(unwrap(gen).hint_in.parameters())
    rest = [p for p in gen.parameters() if all(p is not h for h in hint_params)]
    lrs = [hc.lr, hc.lr * hc.hint_lr_multiple]
    opt = torch.optim.AdamW([{"params": rest, "lr": lrs[0]}, {"params": hint_params, "lr": lrs[1]}],
                            weight_decay=cfg.pretrain_gen.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lrs, total_steps=hc.steps)
    scaler = num.scaler()
    resume = TrainState(out / "last.pt", gen, "generator", model_cfg, ctx, optimizer=opt, scheduler=sched, scaler=scaler)
    resumed = resume.restore()
    start = resumed["step"] if resumed else 0
    log.info("%s: fine-tuning %s for colour hints, steps %d-%d at %d px; loss: %s", NAME, base, start, hc.steps, hc.size_px, loss_fn.description)
    data = HintedPhotos(CrappifiedPhotos(train, hc.size_px, cfg.data, seed=cfg.data.seed), hc, cfg.data.seed)
    model = wrap_ddp(gen, ctx)
    model.train()
    step_log = StepLog(out / "train_log.csv", hc.log_every_steps, ctx)
    batches = step_loader(data, StepBatches(start, hc.steps, hc.batch_size, ctx.rank, ctx.world), cfg.data.num_workers)
    with StopRequest(ctx) as stop_request:
        for step, (x, y, hints) in enumerate(batches, start=start):
            x, y, hints = num.batch(x), num.batch(y), num.batch(hints)
            with num.autocast():
                rgb, logits = model(x, with_logits=True, hints=hints)
                loss = loss_fn(rgb, y, logits)
            optimizer_step(loss, opt, scaler)
            sched.step()
            step_log(step + 1, loss=loss.item(), lr=opt.param_groups[0]["lr"], hinted=float((hints[:, 2].amax(dim=(1, 2)) > 0).float().mean()))
            if stop_request.checkpoint_due(step + 1, hc.checkpoint_every_steps, hc.steps):
                resume.save(step=step + 1, stage=NAME)
            stop_request.honour()
    if ctx.is_main:
        inference = dataclasses.replace(InferenceConfig.from_checkpoint(meta, render_factor_for(hc.size_px)),
                                        hint_input=hint_input_kind(hc.spread_input, hc.wide_input))
        save_checkpoint(out / "gen.pt", unwrap(gen), "generator", model_cfg, step=hc.steps, stage=NAME, config=to_dict(cfg),
                        inference=inference.to_dict(),
                        ab_prior=None if prior is None else torch.from_numpy(prior))
    metrics = _score(unwrap(gen), validation_pairs(val_pool, hc.size_px), hc, cfg.data.seed, num, ctx)
    finish_stage(out, digest, ctx, steps=hc.steps, base=str(base), val_metrics=metrics)
    return out / "gen.pt"


def _score(gen: torch.nn.Module, pairs: list, hc: HintsConfig, seed: int, num: Numerics,
           ctx: StageContext) -> dict[str, dict[str, float]]:
    """The stage's own check: held-out metrics with no hints and with `n_val_hints` true-colour hints, at the same
    places for any model scored with this seed."""
    metrics = {}
    for n in (0, hc.n_val_hints):
        rng = np.random.default_rng(seed)
        hints = [sample_point_hints(real, n, rng) if n else None for _, real in pairs]
        metrics[f"{n} hints"], _ = score_generator(gen, pairs, hc.size_px, num, hints, ctx=ctx)
    log.info("%s: held-out ab error %s", NAME, ", ".join(f"{k} {m['ab_mae']:.3f}" for k, m in metrics.items()))
    return metrics
