#!/usr/bin/env python3
"""Benchmark film colorization: frames/s end to end and measured flicker, with and without stabilisation.

    .venv/bin/python scripts/bench_video.py --weights runs/mine/final.pt CLIP [CLIP ...]

Each clip is colorized `--runs` times per setting (decode + colorize + stabilise + encode, to a temp file);
the table reports the median frames/s and the flicker metric (mean absolute frame-to-frame Cb/Cr change, 0..255
scale, on pixels whose luminance changed by at most 4 grey levels) of the raw per-frame colour and of the output.
Results replace the `bench_video` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorize.inference import Colorizer  # noqa: E402
from colorize.video import colorize_video  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "bench_video"


def replace_section(doc: Path, name: str, body: str) -> None:
    """Rewrite the text between `<!-- name:start -->` and `<!-- name:end -->` (appending it if absent)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", type=Path, nargs="+")
    ap.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped model)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--render-factor", type=int, default=21)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    colorizer = Colorizer.from_weights(args.weights, device=args.device, render_factor=args.render_factor, batch_size=args.batch_size)
    device = str(colorizer.device) + (f" ({torch.cuda.get_device_name(colorizer.device)})" if colorizer.device.type == "cuda" else f" ({platform.machine()}, {torch.get_num_threads()} threads)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            for stabilize in (False, True):
                reports = [colorize_video(clip, Path(tmp) / "out.mp4", colorizer, stabilize=stabilize, measure=True) for _ in range(args.runs)]
                r = reports[0]
                fps = statistics.median(x.frames_per_second for x in reports)
                rows.append(f"| {clip.name} | {r.width}x{r.height} | {r.frames} | {'on' if stabilize else 'off'} | {fps:.2f} | {r.flicker_input_model:.3f} | {r.flicker_output:.3f} |")
                print(rows[-1], flush=True)
    cmd = "python scripts/bench_video.py " + " ".join(sys.argv[1:])
    body = "\n".join([
        "## Video: frames/s and flicker",
        "",
        f"Device: {device}; torch {torch.__version__}; render factor {args.render_factor}, batch {args.batch_size}; "
        f"median of {args.runs} runs; weights `{args.weights or 'shipped default'}`.",
        f"Command: `{cmd}`",
        "",
        "Flicker = mean |Δ Cb,Cr| between consecutive frames (0–255 scale) on pixels whose luminance changed by ≤ 4 levels; "
        "*raw* is the per-frame model colour, *output* what is written.",
        "",
        "| clip | size | frames | stabilise | frames/s (end to end) | flicker raw | flicker output |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])
    replace_section(DOC, SECTION, body)
    print(f"written to {DOC}")


if __name__ == "__main__":
    main()
