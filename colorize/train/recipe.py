"""The NoGAN recipe: pretrain-gen -> (cache -> pretrain-critic -> gan) x cycles -> export.

Run folder layout (cycle k >= 1 uses folders numbered 2 + 3(k-1) onward):
    RUN/recipe.toml          the resolved config
    RUN/1-pretrain-gen/      gen.pt, train_log.csv, samples.png, DONE
    RUN/2-cache/images/      the pretrained generator's outputs
    RUN/3-pretrain-critic/   crit.pt, train_log.csv (with accuracy), DONE
    RUN/4-gan/               checkpoints/, metrics.csv, metrics.png, contact_sheet.png, best.pt, crit.pt, DONE
    RUN/final.pt + final.json  the chosen generator and its manifest: `colorize photos --weights RUN/final.pt`
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import torch
from torch import nn

from colorize.atomic import atomic_write
from colorize.config import RecipeConfig, dump_toml, to_dict
from colorize.data import validation_pairs, validation_photos
from colorize.errors import ColorizeError
from colorize.inference import describe_device
from colorize.pipeline import InferenceConfig, render_factor_for
from colorize.train import cache, gan, hints, pretrain_critic, pretrain_gen
from colorize.train.common import Numerics, StageContext
from colorize.train.scoring import score_generator
from colorize.weights import load_generator, save_checkpoint, write_manifest

log = logging.getLogger(__name__)

STAGES = ("pretrain-gen", "cache", "pretrain-critic", "gan", "export", "hints")


def cycle_names(cycle: int) -> tuple[str, str, str]:
    """Folder names of cycle k's cache, critic and GAN stages."""
    n = 2 + 3 * (cycle - 1)
    return f"{n}-cache", f"{n + 1}-pretrain-critic", f"{n + 2}-gan"


def _write_recipe(cfg: RecipeConfig, ctx: StageContext) -> None:
    if ctx.is_main:
        atomic_write(ctx.run_dir / "recipe.toml", lambda tmp: tmp.write_text(dump_toml(cfg)))


def run_all(cfg: RecipeConfig, ctx: StageContext) -> Path:
    """Every stage in order, each skipped when already done; returns RUN/final.pt."""
    _write_recipe(cfg, ctx)
    gen = pretrain_gen.run(cfg, ctx)
    crit_prev: Path | None = None
    for cycle in range(1, cfg.gan.cycles + 1):
        cache_name, crit_name, gan_name = cycle_names(cycle)
        cache_dir = cache.run(cfg, ctx, gen, cache_name)
        crit = pretrain_critic.run(cfg, ctx, cache_dir, crit_name, init_critic=crit_prev)
        gen = gan.run(cfg, ctx, gen, crit, gan_name)
        crit_prev = gen.parent / "crit.pt"
    return export(cfg, ctx, gen)


def run_stage(stage: str, cfg: RecipeConfig, ctx: StageContext) -> Path:
    """One stage of the first cycle, reading its inputs from the run folder's earlier stages."""
    _write_recipe(cfg, ctx)
    cache_name, crit_name, gan_name = cycle_names(1)
    gen_path = ctx.run_dir / pretrain_gen.NAME / "gen.pt"
    if stage == "pretrain-gen":
        return pretrain_gen.run(cfg, ctx)
    if stage == "cache":
        return cache.run(cfg, ctx, _require(gen_path), cache_name)
    if stage == "pretrain-critic":
        return pretrain_critic.run(cfg, ctx, _require(ctx.run_dir / cache_name / "images"), crit_name)
    if stage == "gan":
        return gan.run(cfg, ctx, _require(gen_path), _require(ctx.run_dir / crit_name / "crit.pt"), gan_name)
    if stage == "export":
        last_gan = cycle_names(cfg.gan.cycles)[2]
        return export(cfg, ctx, _require(ctx.run_dir / last_gan / "best.pt"))
    if stage == "hints":
        return hints.run(cfg, ctx)
    raise ColorizeError(f"unknown stage {stage!r}; choose one of: {', '.join(STAGES)}")


def _require(path: Path) -> Path:
    if not path.exists() or not (path.parent / "DONE").is_file():
        raise ColorizeError(f"{path} is missing: run the earlier stages first (or `colorize train all`)")
    return path


def stage_seconds(run_dir: Path) -> dict[str, float]:
    """Wall time of each finished stage (its last attempt), from the DONE markers."""
    return {
        d.name: json.loads((d / "DONE").read_text()).get("seconds", 0.0)
        for d in sorted(run_dir.iterdir(), key=lambda d: int(d.name.split("-")[0]) if d.name[0].isdigit() else 0)
        if (d / "DONE").is_file()
    }


TEMPERATURES = (0.2, 0.3, 0.38, 0.5, 0.7, 1.0)
CHROMA_GAINS = (1.0, 1.2, 1.4, 1.6, 1.8, 2.0)


def tune_decoding(model: nn.Module, inference: InferenceConfig, cfg: RecipeConfig,
                  ctx: StageContext) -> tuple[InferenceConfig, list[dict[str, float]]]:
    """The decoding knob that scores best on the held-out photos by the GAN stage's own rule (`gan.choose`: accuracy
    first, then the colourfulness closest to the real photos'): the ab-bin head's temperature, or the RGB head's
    chroma gain. Returns `inference` carrying it, and every setting's scores; the model is left as it was."""
    knob, values = ("temperature", TEMPERATURES) if model.cfg.head == "ab_bins" else ("chroma_gain", CHROMA_GAINS)
    pool = validation_photos(ctx.data_dir, cfg.data, 2 * cfg.gan.size_px, cfg.gan.n_val_images)
    pairs = validation_pairs(pool, cfg.gan.size_px)
    num = Numerics(ctx.device, torch.float32, cfg.train.channels_last)
    rows = []
    for v in values:
        metrics, _ = score_generator(model, pairs, cfg.gan.size_px, num, inference=dataclasses.replace(inference, **{knob: v}),
                                     ctx=ctx)
        rows.append({knob: v, **{k: round(m, 4) for k, m in metrics.items()}})
    best = gan.choose(rows, order=knob)
    if ctx.is_main:
        log.info("decoding %s %.2f (%s)", knob, best[knob],
                 ", ".join(f"{r[knob]}: ab {r['ab_mae']:.2f} gap {r['colorfulness_gap']:.1f}" for r in rows))
    return dataclasses.replace(inference, **{knob: float(best[knob])}), rows


def export(cfg: RecipeConfig, ctx: StageContext, best: Path) -> Path:
    """RUN/final.pt (the chosen generator, loadable with --weights) and RUN/final.json (its manifest)."""
    final = ctx.run_dir / "final.pt"
    gan_done = json.loads((best.parent / "DONE").read_text())
    gen_done = json.loads((ctx.run_dir / pretrain_gen.NAME / "DONE").read_text())
    model, meta = load_generator(best)
    # Inference defaults to the scale the inflection point was scored at.
    untuned = dataclasses.replace(InferenceConfig.from_checkpoint(meta), render_factor=render_factor_for(cfg.gan.size_px))
    inference, decoding = tune_decoding(model, untuned, cfg, ctx)
    if ctx.is_main:
        save_checkpoint(final, model, "generator", model.cfg, step=meta.get("step"), stage="final", config=to_dict(cfg),
                        inference=inference.to_dict())
        write_manifest(
            final,
            model_config=to_dict(model.cfg),
            inference=inference.to_dict(),
            decoding_scores=decoding,
            training={
                "recipe": "NoGAN: pretrain-gen, cache, pretrain-critic, gan" + (f" x{cfg.gan.cycles}" if cfg.gan.cycles > 1 else ""),
                "loss": gen_done.get("loss"),
                "gan_stage": best.parent.name,
                "chosen_gan_step": gan_done["chosen_step"],
                # Stage 1 is most of the training time; runs finished before DONE recorded it fall back to now.
                "device": gen_done.get("device", describe_device(ctx.device)),
                "world_size": ctx.world,
                "stage_seconds": stage_seconds(ctx.run_dir),
            },
            quality={"validation": gan_done["chosen_metrics"]},
        )
        log.info("final model: %s (GAN step %d of %s)", final, gan_done["chosen_step"], best.parent.name)
    ctx.barrier()
    return final
