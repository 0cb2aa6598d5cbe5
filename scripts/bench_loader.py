#!/usr/bin/env python3
"""The training data loader alone, so a user knows how many workers a GPU needs: crops/s at 128 and 256 px from a
photo folder and from the same photos packed by `colorize data prepare`, with 0 workers (the main process: one
core's rate), 1 and 2 workers, beside its floor (decoding alone) and a GPU step's appetite.

    .venv/bin/python scripts/bench_loader.py --data data/photos [--batches 30] [--write-doc]

A crop is what stage 1 trains on: a photo drawn by weight, decoded at twice the crop size, cropped, cut-outs pasted,
resized, crappified (`colorize.data.CrappifiedPhotos`), batch 16 through `colorize.data.step_loader`. Each figure
is `--batches` batches after two warm-up batches (worker start-up excluded). The floor decodes the photos alone
(`PhotoFiles.decode`), with and without JPEG draft decoding. `--write-doc` replaces the `bench_loader` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import replace_section  # noqa: E402
from colorize.config import DataConfig  # noqa: E402
from colorize.corpus import PhotoFiles, list_photos  # noqa: E402
from colorize.data import CrappifiedPhotos, StepBatches, step_loader, training_photos  # noqa: E402
from colorize.shards import prepare  # noqa: E402

BATCH = 16
# A GPU step's appetite, measured on an NVIDIA H100 (docs/benchmarks.md, "Training on a GPU").
GPU_CROPS_PER_S = {"hints stage, batch 32 at 128 px": 440, "stage 1, batch 16 at 128 px": 245}


def crops_per_s(root: Path, size_px: int, workers: int, batches: int) -> float:
    cfg = DataConfig()
    data = CrappifiedPhotos(training_photos(root, cfg, 2 * size_px), size_px, cfg, seed=0)
    loader = iter(step_loader(data, StepBatches(0, batches + 2, BATCH), workers))
    next(loader), next(loader)  # workers started and warm
    t0 = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batches * BATCH / (time.perf_counter() - t0)


def decode_without_draft(path: Path, short_px: int) -> np.ndarray:
    """`load_rgb` as it was before draft decoding: the whole JPEG decoded, then resized."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        scale = short_px / min(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        return np.asarray(im)


def photos_per_s(fn, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a folder of colour photos (data/photos)")
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--write-doc", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cpu = f"{os.cpu_count()}-core {platform.processor() or platform.machine()}"
    with tempfile.TemporaryDirectory() as tmp:
        shards = Path(tmp) / "prepared"
        t0 = time.perf_counter()
        report = prepare(args.data, shards, size_px=512)
        prepare_s = time.perf_counter() - t0
        folder_files = PhotoFiles(args.data, list_photos(args.data))
        shard_files = PhotoFiles(shards, list_photos(shards))
        n = min(200, len(folder_files))
        floors = {
            "folder, whole JPEG decoded then resized": photos_per_s(lambda i: decode_without_draft(args.data / folder_files.name(i), 256), n),
            "folder, draft decoding (the loader's)": photos_per_s(lambda i: folder_files.decode(i, 256), n),
            "prepared shards (512 px stored)": photos_per_s(lambda i: shard_files.decode(i, 256), n),
        }
        rows = []
        for source, root in (("folder", args.data), ("prepared shards", shards)):
            for size in (128, 256):
                rates = [crops_per_s(root, size, w, args.batches) for w in (0, 1, 2)]
                rows.append((source, size, rates))
                print(source, size, [f"{r:.0f}" for r in rates], flush=True)
    sizes = {np.asarray(Image.open(args.data / folder_files.name(i))).shape[:2] for i in range(0, n, 20)}
    short = sorted(min(s) for s in sizes)
    lines = [
        "## Training data: the loader alone",
        "",
        f"Measured on a {cpu} CPU with `.venv/bin/python scripts/bench_loader.py --data data/photos "
        f"--batches {args.batches}`: the {len(folder_files)} corpus photos (JPEG, short side {short[0]}–{short[-1]} px), "
        f"as a folder and packed by `colorize data prepare --size 512` ({report.photos} photos, {report.shards} shard(s), "
        f"{prepare_s:.0f} s). Crops/s of stage 1's data (decode, crop, cut-outs, resize, damage; batch {BATCH}), "
        "0 workers meaning the main process alone.",
        "",
        "| source | crop px | 0 workers | 1 worker | 2 workers |",
        "|---|---|---|---|---|",
        *(f"| {s} | {px} | {r[0]:.0f} | {r[1]:.0f} | {r[2]:.0f} |" for s, px, r in rows),
        "",
        "Floor, decoding alone at 256 px short side (what 128 px crops need), one core:",
        "",
        "| decoding | photos/s |",
        "|---|---|",
        *(f"| {k} | {v:.0f} |" for k, v in floors.items()),
        "",
        "A GPU's appetite, measured on an NVIDIA H100: "
        + "; ".join(f"{k} ~{v} crops/s" for k, v in GPU_CROPS_PER_S.items())
        + f". At one core's rate from shards at 128 px ({rows[2][2][0]:.0f} crops/s), the hints stage needs about "
        f"{GPU_CROPS_PER_S['hints stage, batch 32 at 128 px'] / rows[2][2][0]:.0f} workers and stage 1 about "
        f"{GPU_CROPS_PER_S['stage 1, batch 16 at 128 px'] / rows[2][2][0]:.0f} (estimated from one core's rate: workers "
        "scale with free cores, and this machine has two, both shared with the main process here).",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write_doc:
        replace_section("bench_loader", body)


if __name__ == "__main__":
    main()
