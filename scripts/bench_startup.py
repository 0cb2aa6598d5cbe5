#!/usr/bin/env python3
"""Benchmark what a user waits for on one photo: `colorize photo` end to end on a 1 MP photo (process start,
imports, model load, colorize, write) on each engine, against `colorize --help`, median of `--runs`.

The ONNX engine is timed twice: with its export cache filled (every run after a model's first) and empty (the
first run, which exports the model). Each gets its own cache folder ($COLORIZE_CACHE), never the user's.

    .venv/bin/python scripts/bench_startup.py [--runs 5] [--write-doc]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import replace_section  # noqa: E402

COLORIZE = [sys.executable, "-m", "colorize"]
FOLDER_PHOTOS = 16


def timed(cmd: list[str], runs: int, cache: Path, keep_cache: bool = True) -> float:
    """Median wall seconds of `cmd` over `runs` runs (after one untimed run that warms the file cache), with the
    ONNX export cache at `cache`, emptied before each run unless `keep_cache`."""
    env = {**os.environ, "COLORIZE_CACHE": str(cache)}
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    times = []
    for _ in range(runs):
        if not keep_cache:
            shutil.rmtree(cache, ignore_errors=True)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--write-doc", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.jpg"
        Image.open(ROOT / "samples" / "einstein.jpg").convert("L").resize((1155, 866)).save(photo, quality=95)  # 1.0 MP
        folder = Path(tmp) / "folder"
        folder.mkdir()
        for i in range(FOLDER_PHOTOS):
            shutil.copy(photo, folder / f"{i:02d}.jpg")
        many = [*COLORIZE, "photos", str(folder), "-o", str(Path(tmp) / "out"), "--overwrite", "--device", "cpu"]
        one = [*COLORIZE, "photo", str(photo), "-o", str(Path(tmp) / "out.jpg"), "--overwrite", "--device", "cpu"]
        rows = {
            "`colorize --help`": timed([*COLORIZE, "--help"], args.runs, Path(tmp) / "c0"),
            "`colorize photo` on a 1 MP photo (ONNX engine, the default on CPU; model already exported)":
                timed(one, args.runs, Path(tmp) / "c1"),
            "the same, first run with this model (exports it to ONNX, once)": timed(one, args.runs, Path(tmp) / "c2", keep_cache=False),
            "`colorize photo --engine torch` (PyTorch)": timed([*one, "--engine", "torch"], args.runs, Path(tmp) / "c3"),
            f"`colorize photos` on a folder of {FOLDER_PHOTOS} such photos (ONNX engine, exported)": timed(many, args.runs, Path(tmp) / "c1"),
            f"`colorize photos --engine torch` on the same {FOLDER_PHOTOS}": timed([*many, "--engine", "torch"], args.runs, Path(tmp) / "c3"),
        }
    from colorize.inference import describe_device
    import torch

    body = ("## Startup: one photo, end to end\n\n"
            f"Measured on {describe_device(torch.device('cpu'))}, shipped model at its own render factor; command: "
            f"`.venv/bin/python scripts/bench_startup.py {' '.join(sys.argv[1:])}` (median of {args.runs} runs after one "
            "warm-up).\n\n| what | seconds |\n|---|---|\n" + "\n".join(f"| {k} | {v:.2f} |" for k, v in rows.items()))
    print(body)
    if args.write_doc:
        replace_section("bench_startup", body)


if __name__ == "__main__":
    main()
