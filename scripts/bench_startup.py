#!/usr/bin/env python3
"""Benchmark what a user waits for on one photo: `colorize photo` end to end on a 1 MP photo (process start,
imports, model load, colorize, write), against `colorize --help` and the bare imports, median of `--runs`.

    .venv/bin/python scripts/bench_startup.py [--runs 5] [--write-doc]
"""

from __future__ import annotations

import argparse
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


def timed(cmd: list[str], runs: int) -> float:
    """Median wall seconds of `cmd` over `runs` runs (after one untimed run that warms the file cache)."""
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
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
        rows = {
            "`colorize --help`": timed([*COLORIZE, "--help"], args.runs),
            "`import colorize.inference` (torch, OpenCV, NumPy)": timed([sys.executable, "-c", "import colorize.inference"], args.runs),
            "`colorize photo` on a 1 MP photo, end to end": timed([*COLORIZE, "photo", str(photo), "-o", str(Path(tmp) / "out.jpg"),
                                                                     "--overwrite", "--device", "cpu"], args.runs),
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
