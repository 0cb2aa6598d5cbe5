"""Stage 2: write the pretrained generator's outputs on training photos to disk, as the critic's "fake" class.

The inputs are crappified exactly as in stage 1, so the critic learns what the generator really produces.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from colorize.atomic import atomic_write
from colorize.config import RecipeConfig
from colorize.data import CrappifiedPhotos, training_photos
from colorize.color.tensors import recolor
from colorize.train.common import StageContext, begin_stage, done_hash, eval_mode, finish_stage, stage_hash
from colorize.weights import load_generator

log = logging.getLogger(__name__)

# Sample ids far above any training step's, so the cached crops are not the exact crops stage 1 trained on.
_ID_OFFSET = 10**12


def run(cfg: RecipeConfig, ctx: StageContext, gen_path: Path, name: str) -> Path:
    """Cache outputs of the generator at `gen_path` into RUN/name/images; returns that folder."""
    out = ctx.run_dir / name
    images = out / "images"
    h = stage_hash(name, cfg.cache, cfg.data, ctx.data_dir.resolve(), done_hash(gen_path.parent))
    if not begin_stage(out, h, cfg, ctx):
        return images
    if ctx.is_main:
        gen, _ = load_generator(gen_path)
        gen = gen.to(ctx.device)
        data = CrappifiedPhotos(training_photos(ctx.data_dir, cfg.data, 2 * cfg.cache.size_px), cfg.cache.size_px, cfg.data, seed=cfg.data.seed)
        images.mkdir(parents=True, exist_ok=True)
        with eval_mode(gen), torch.inference_mode():
            # A bar on a terminal only: into a log it would write carriage returns, not lines.
            for i in tqdm(range(cfg.cache.n_images), desc=name, unit="img", leave=False, disable=not sys.stderr.isatty()):
                path = images / f"{i:06d}.png"
                if path.exists():  # resume: earlier attempt got this far
                    continue
                x, real = data[_ID_OFFSET + i]
                # The real photo's luminance with the generator's colour, as inference makes it: the critic must
                # learn to tell colour, not the luminance the generator is never asked to reproduce.
                rgb = recolor(gen(x[None].to(ctx.device)), real[None].to(ctx.device))[0]
                rgb = rgb.mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
                atomic_write(path, lambda tmp: Image.fromarray(np.ascontiguousarray(rgb)).save(tmp, format="PNG"))
    finish_stage(out, h, ctx, n_images=cfg.cache.n_images, generator=str(gen_path))
    return images
