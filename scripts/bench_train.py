#!/usr/bin/env python3
"""Benchmark training steps: seconds per step for each stage across size x precision x layout x loss terms, and one
process with 2 threads against torchrun with 2 processes x 1 thread (gloo).

    .venv/bin/python scripts/bench_train.py [--sizes 64 128] [--steps 6] [--warmup 2] [--write-doc]

A step is what the stage runs: generator pretraining = forward + loss + backward + AdamW (batch 16); critic
pretraining = critic on 16 real + 16 generated crops + Adam; GAN = one critic step and one generator step with
the perceptual and adversarial losses (batch 8). Inputs are random tensors (data loading and crappify cost ~10 ms
per batch of 16 at 128 px, measured separately, and are not included); the median of `--steps` timed steps after
`--warmup` is reported. Every configuration builds its models from scratch in this process, with the recipe's
architecture (EfficientNet-Lite0 U-Net, patch critic) and the stages' own autocast and memory-layout code.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchdoc import median_seconds, replace_section  # noqa: E402
from colorize.config import CriticConfig, LossConfig, ModelConfig, TrainConfig  # noqa: E402
from colorize.color.tensors import recolor
from colorize.inference import describe_device  # noqa: E402
from colorize.losses import PerceptualLoss, adversarial_loss  # noqa: E402
from colorize.models import create_critic, create_generator  # noqa: E402
from colorize.train.common import Numerics, cpu_has_native_bf16, optimizer_step, wrap_ddp, StageContext  # noqa: E402

SECTION = "bench_train"
# Perceptual-term variants: name -> (LossConfig overrides, table label).
VGG = {
    "on": ({}, "pixel + chroma + VGG 2/7/1"),
    "half": ({"vgg_scale": 0.5}, "pixel + chroma + VGG 2/7/1 at ½ size"),
    "relu3": ({"layer_weights": (2.0, 0.0, 0.0)}, "pixel + chroma + VGG relu3_3 only"),
    "off": ({"perceptual": False}, "pixel + chroma"),
}


def make_step(stage: str, size: int, precision: str, channels_last: bool, vgg: str, device: torch.device,
              ddp_ctx: StageContext | None = None, batch: int | None = None):
    """A closure running one training step of `stage`, built like the stage builds it."""
    num = Numerics.for_stage(TrainConfig(precision=precision, channels_last=channels_last), device)
    torch.manual_seed(0)
    loss_cfg = LossConfig(**{"layer_weights": (2.0, 7.0, 1.0), **VGG[vgg][0]})
    if stage == "gen":
        b = batch or 16
        gen = num.model(create_generator(ModelConfig(), pretrained=False)).train()
        model = wrap_ddp(gen, ddp_ctx) if ddp_ctx else gen
        loss_fn = num.model(PerceptualLoss(loss_cfg))
        opt, scaler = torch.optim.AdamW(gen.parameters(), lr=1e-4), num.scaler()
        x, y = num.batch(torch.rand(b, 1, size, size)), num.batch(torch.rand(b, 3, size, size))

        def step() -> None:
            with num.autocast():
                loss = loss_fn(model(x), y)
            optimizer_step(loss, opt, scaler)
        return step
    crit = num.model(create_critic(CriticConfig())).train()
    opt_c, scaler_c = torch.optim.Adam(crit.parameters(), lr=1e-4, betas=(0.0, 0.9)), num.scaler()
    adv = adversarial_loss("bce")
    if stage == "critic":
        both = num.batch(torch.rand(32, 3, size, size))

        def step() -> None:
            with num.autocast():
                logits = crit(both).float()
            optimizer_step(adv.critic(logits[:16], logits[16:]), opt_c, scaler_c)
        return step
    gen = num.model(create_generator(ModelConfig(), pretrained=False)).train()
    loss_fn = num.model(PerceptualLoss(loss_cfg))
    opt_g, scaler_g = torch.optim.Adam(gen.parameters(), lr=1e-5, betas=(0.0, 0.9)), num.scaler()
    x, real = num.batch(torch.rand(8, 1, size, size)), num.batch(torch.rand(8, 3, size, size))

    def step() -> None:
        with torch.no_grad(), num.autocast():
            out = gen(x)
        with num.autocast():
            logits = crit(torch.cat([real, recolor(out.float(), real)])).float()
        optimizer_step(adv.critic(logits[:8], logits[8:]), opt_c, scaler_c)
        crit.requires_grad_(False)
        with num.autocast():
            fake = recolor(gen(x).float(), real)
            lg = loss_fn(fake, real) + adv.generator(crit(fake).float(), logits[:8].detach())
        optimizer_step(lg, opt_g, scaler_g)
        crit.requires_grad_(True)
    return step


def ddp_worker(args: argparse.Namespace) -> None:
    """One torchrun rank: the generator step at half the batch per rank, same global batch of 16."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    ctx = StageContext(Path("."), Path("."), rank=dist.get_rank(), world=dist.get_world_size(), device=torch.device("cpu"))
    step = make_step("gen", args.sizes[0], args.precisions[0], args.layouts[0] == "channels_last", args.vgg[0],
                     torch.device("cpu"), ddp_ctx=ctx, batch=16 // ctx.world)
    s = median_seconds(step, args.steps, args.warmup)
    if ctx.rank == 0:
        print(f"RESULT {s:.4f}")
    dist.destroy_process_group()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--layouts", nargs="+", default=["contiguous", "channels_last"])
    ap.add_argument("--vgg", nargs="+", default=list(VGG), choices=list(VGG), help="perceptual-term variants")
    ap.add_argument("--stages", nargs="+", default=["gen", "critic", "gan"])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--no-torchrun", action="store_true", help="skip the 1x2 vs 2x1 process comparison")
    ap.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--write-doc", action="store_true", help="replace the bench_train section of docs/benchmarks.md")
    args = ap.parse_args()
    if args.ddp_worker:
        return ddp_worker(args)
    device = torch.device("cpu")
    rows = []
    for stage, size, precision, layout, vgg in itertools.product(args.stages, args.sizes, args.precisions, args.layouts, args.vgg):
        if stage == "critic" and vgg != args.vgg[0]:
            continue  # the critic has no perceptual term
        step = make_step(stage, size, precision, layout == "channels_last", vgg, device)
        s = median_seconds(step, args.steps, args.warmup)
        terms = "—" if stage == "critic" else VGG[vgg][1]
        rows.append(f"| {stage} | {size} px | {precision} | {layout} | {terms} | {s:.2f} |")
        print(rows[-1], flush=True)
    table = ["| stage | size | precision | memory format | loss terms | s/step |", "|---|---|---|---|---|---|", *rows]
    if not args.no_torchrun:
        size, precision, layout, vgg = args.sizes[-1], args.precisions[-1], args.layouts[-1], args.vgg[0]
        one = median_seconds(make_step("gen", size, precision, layout == "channels_last", vgg, device), args.steps, args.warmup)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", __file__, "--ddp-worker",
               "--sizes", str(size), "--precisions", precision, "--layouts", layout, "--vgg", vgg,
               "--steps", str(args.steps), "--warmup", str(args.warmup)]
        res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        found = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT")]
        if not found:
            sys.exit(f"torchrun run failed:\n{res.stderr[-2000:]}")
        two = float(found[0].split()[1])
        table += ["", f"Generator step, {size} px, {precision}, {layout}, VGG {vgg}, global batch 16:", "",
                  "| processes x threads | s/step |", "|---|---|",
                  f"| 1 x {torch.get_num_threads()} | {one:.2f} |", f"| 2 x 1 (torchrun, gloo) | {two:.2f} |"]
        print("\n".join(table[-4:]))
    header = ("## Training: seconds per step\n\n"
              f"Measured on {describe_device(device)}; native bf16: {'yes' if cpu_has_native_bf16() else 'no'}. "
              f"Command: `.venv/bin/python scripts/bench_train.py {' '.join(sys.argv[1:])}` "
              f"(median of {args.steps} steps after {args.warmup} warm-up; random inputs, data loading excluded).")
    body = header + "\n\n" + "\n".join(table)
    print(body)
    if args.write_doc:
        replace_section(SECTION, body)


if __name__ == "__main__":
    main()
