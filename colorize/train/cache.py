"""Stage 2: write the pretrained generator's outputs on training photos to disk, as the critic's "fake" class.

The inputs are crappified exactly as in stage 1, so the critic learns what the generator really produces.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from colorize.atomic import atomic_write
from colorize.config import RecipeConfig
from colorize.data import CrappifiedPhotos, step_loader, training_photos
from colorize.color.tensors import recolor
from colorize.train.common import StageContext, begin_stage, done_hash, eval_mode, finish_stage, stage_hash
from colorize.weights import load_generator

log = logging.getLogger(__name__)

# Sample ids far above any training step's, so the cached crops are not the exact crops stage 1 trained on.
_ID_OFFSET = 10**12


# Generator outputs per forward pass: each image depends only on its id, so the batch size changes speed, not pixels.
_BATCH = 16


def run(cfg: RecipeConfig, ctx: StageContext, gen_path: Path, name: str) -> Path:
    """Cache outputs of the generator at `gen_path` into RUN/name/images; returns that folder. Rank r of w writes
    images r, r + w, r + 2w, ...; a rerun writes only the images still missing."""
    out = ctx.run_dir / name
    images = out / "images"
    h = stage_hash(name, cfg.cache, cfg.data, ctx.data_dir.resolve(), done_hash(gen_path.parent))
    if not begin_stage(out, h, cfg, ctx):
        return images
    gen, _ = load_generator(gen_path)
    gen = gen.to(ctx.device)
    data = CrappifiedPhotos(training_photos(ctx.data_dir, cfg.data, 2 * cfg.cache.size_px), cfg.cache.size_px, cfg.data, seed=cfg.data.seed)
    images.mkdir(parents=True, exist_ok=True)
    # Resume: an earlier attempt's finished images are kept (each written atomically, so a present file is whole).
    todo = [i for i in range(ctx.rank, cfg.cache.n_images, ctx.world) if not (images / f"{i:06d}.png").exists()]
    batches = [[_ID_OFFSET + i for i in todo[k : k + _BATCH]] for k in range(0, len(todo), _BATCH)]
    loader = step_loader(data, batches, cfg.data.num_workers)
    # A bar on rank 0's terminal only: into a log it would write carriage returns, not lines.
    bar = tqdm(total=len(todo), desc=name, unit="img", leave=False, disable=not (ctx.is_main and sys.stderr.isatty()))
    with eval_mode(gen), torch.inference_mode():
        for ids, (x, real) in zip(batches, loader):
            # The real photo's luminance with the generator's colour, as inference makes it: the critic must
            # learn to tell colour, not the luminance the generator is never asked to reproduce.
            rgb = recolor(gen(x.to(ctx.device)), real.to(ctx.device))
            for k, img in zip(ids, rgb.mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()):
                atomic_write(images / f"{k - _ID_OFFSET:06d}.png", lambda tmp: Image.fromarray(img).save(tmp, format="PNG"))
            bar.update(len(ids))
    bar.close()
    log.info("%s: rank %d wrote %d of %d images", name, ctx.rank, len(todo), cfg.cache.n_images)
    finish_stage(out, h, ctx, n_images=cfg.cache.n_images, generator=str(gen_path))
    return images
