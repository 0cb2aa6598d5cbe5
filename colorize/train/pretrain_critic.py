"""Stage 3: the critic as a plain binary classifier, real photos vs the cached generator outputs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from colorize.config import RecipeConfig
from colorize.data import CrappifiedPhotos, StepBatches, step_loader, to_tensor, training_photos
from colorize.errors import ConfigError
from colorize.losses.adversarial import bce_critic, classifier_accuracy
from colorize.models import count_parameters, create_critic
from colorize.train.common import (
    Numerics, optimizer_step, StageContext, StepLog, StopRequest, all_mean, begin_stage, done_hash, finish_stage,
    TrainState, stage_hash, wrap_ddp,
)
from colorize.weights import save_checkpoint, unwrap

log = logging.getLogger(__name__)

# Real crops for the critic come from ids disjoint from stage 1's and the cache's.
_REAL_ID_OFFSET = 2 * 10**12


class RealVsFake(Dataset):
    """Sample id k -> ((3, S, S) real crop, (3, S, S) cached fake, randomly flipped)."""

    def __init__(self, real: CrappifiedPhotos, fakes: list[Path], seed: int) -> None:
        self.real, self.fakes, self.seed = real, fakes, seed

    def __len__(self) -> int:
        return len(self.real)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, 7, k])
        with Image.open(self.fakes[int(rng.integers(len(self.fakes)))]) as im:
            fake = np.asarray(im.convert("RGB").resize((self.real.size_px, self.real.size_px)))
        if rng.random() < 0.5:
            fake = fake[:, ::-1]
        return self.real[_REAL_ID_OFFSET + k][1], to_tensor(fake)


def run(cfg: RecipeConfig, ctx: StageContext, cache_dir: Path, name: str, init_critic: Path | None = None) -> Path:
    """Train the critic on real vs cached; returns the critic checkpoint path."""
    pc = cfg.pretrain_critic
    out = ctx.run_dir / name
    upstream = done_hash(cache_dir.parent)
    h = stage_hash(name, cfg.critic, cfg.data, cfg.train, pc, ctx.data_dir.resolve(), upstream, init_critic)
    if not begin_stage(out, h, cfg, ctx):
        return out / "crit.pt"
    fakes = sorted(cache_dir.glob("*.png"))
    if not fakes:
        raise ConfigError(f"{cache_dir}: no cached generator outputs; run the cache stage first")
    real = CrappifiedPhotos(training_photos(ctx.data_dir, cfg.data, 2 * pc.size_px), pc.size_px, cfg.data, seed=cfg.data.seed)
    data = RealVsFake(real, fakes, cfg.data.seed)

    torch.manual_seed(cfg.data.seed)
    num = Numerics.for_stage(cfg.train, ctx.device)
    crit = num.model(create_critic(cfg.critic))
    if init_critic is not None:  # later NoGAN cycles continue from the previous critic
        unwrap(crit).load_state_dict(torch.load(init_critic, map_location="cpu", weights_only=True)["state_dict"])
    log.info("%s: critic %.1fM parameters, %d cached fakes", name, count_parameters(crit) / 1e6, len(fakes))
    opt = torch.optim.Adam(crit.parameters(), lr=pc.lr, betas=(0.0, 0.9))
    scaler = num.scaler()
    resume = TrainState(out / "last.pt", crit, "critic", cfg.critic, ctx, optimizer=opt, scaler=scaler)
    resumed = resume.restore()
    start = resumed["step"] if resumed else 0
    model = wrap_ddp(crit, ctx).train()
    step_log = StepLog(out / "train_log.csv", pc.log_every_steps, ctx)
    acc = float("nan")
    loader = step_loader(data, StepBatches(start, pc.steps, pc.batch_size, ctx.rank, ctx.world), cfg.data.num_workers)
    with StopRequest(ctx) as stop_request:
        for step, (real_b, fake_b) in enumerate(loader, start=start):
            with num.autocast():
                logits = model(num.batch(torch.cat([real_b, fake_b]))).float()
            real_l, fake_l = logits[: len(real_b)], logits[len(real_b) :]
            loss = bce_critic(real_l, fake_l)
            optimizer_step(loss, opt, scaler)
            acc = all_mean(sum(classifier_accuracy(real_l.detach(), fake_l.detach())) / 2, ctx)
            step_log(step + 1, crit=loss.item(), accuracy=acc)
            if stop_request.checkpoint_due(step + 1, pc.checkpoint_every_steps, pc.steps):
                resume.save(step=step + 1)
            stop_request.honour()
    if ctx.is_main:
        save_checkpoint(out / "crit.pt", crit, "critic", cfg.critic, step=pc.steps, stage=name)
    log.info("%s: final training accuracy %.3f", name, acc)
    finish_stage(out, h, ctx, steps=pc.steps, final_accuracy=acc)
    return out / "crit.pt"
