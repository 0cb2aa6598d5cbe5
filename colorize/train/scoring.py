"""Scoring a generator on held-out photos during training, split across data-parallel ranks."""

from __future__ import annotations

from typing import Any

import torch.distributed as dist
from torch import nn

from colorize.train.common import Numerics, StageContext, eval_mode


def score_generator(
    gen: nn.Module, val_pairs: list[tuple[Any, Any]], size_px: int, num: Numerics, hints: list[Any] | None = None,
    inference: Any = None, ctx: StageContext | None = None,
) -> tuple[dict[str, float], list[Any]]:
    """Colorize the validation grays (with each one's `colorize.hints.Hints`, if given) through the real inference
    path (fp32), decoded as `inference` says (a `colorize.pipeline.InferenceConfig`; default: as the model's config
    says), and score them against the real colour.

    With `ctx` on several ranks, every rank must call it: each colorizes every world-th photo and the outputs are
    gathered, so every rank returns the same scores and outputs. The model keeps the stage's memory layout: the
    backend converts it in place, and training goes on after.
    """
    from colorize.inference import torch_colorizer
    from colorize.metrics import evaluate
    from colorize.pipeline import render_factor_for

    rank, world = (ctx.rank, ctx.world) if ctx else (0, 1)
    mine = range(rank, len(val_pairs), world)
    plain = getattr(gen, "module", gen)
    with eval_mode(plain):
        # The network's own colour, one pass: what training changes, and what earlier runs were chosen on.
        colorizer = torch_colorizer(plain, num.device, inference, render_factor=render_factor_for(size_px), batch_size=8,
                                    fp32=True, channels_last=num.channels_last, mirror=False)
        preds = colorizer.colorize([val_pairs[i][0] for i in mine], None if hints is None else [hints[i] for i in mine])
    if world > 1:
        shares: list[Any] = [None] * world
        dist.all_gather_object(shares, preds)
        preds = [shares[i % world][i // world] for i in range(len(val_pairs))]
    return evaluate(preds, [r for _, r in val_pairs]), preds
