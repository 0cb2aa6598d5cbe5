#!/usr/bin/env python3
"""Benchmark film colorization: frames/s end to end, where the time goes, and measured flicker.

    .venv/bin/python scripts/bench_video.py [--weights W] [--heights 480 1080] CLIP [CLIP ...]

Each clip is colorized `--runs` times per setting (decode + colorize + stabilise + encode, to a temp file);
the table reports the median frames/s, the share of time per stage (from the run with the median time), and the
flicker metric (mean absolute frame-to-frame Cb/Cr change, 0..255 scale, on pixels whose luminance changed by at
most 4 grey levels) of the raw per-frame colour and of the output. `--heights` adds copies of the first clip
rescaled to those heights (e.g. 854x480, 1920x1080; H.264 at high quality) so that frame size is measured on the
same footage. Results replace the `bench_video` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchdoc import DOC, replace_section  # noqa: E402
from colorize.inference import load_colorizer  # noqa: E402
from colorize.video import colorize_video  # noqa: E402

SECTION = "bench_video"


STAGES = ("decode", "model", "stabilise", "merge", "encode")


def rescaled_copy(src: Path, height: int, folder: Path, max_frames: int) -> Path:
    """The first `max_frames` frames of `src` re-encoded at `height` px (width keeping the aspect, even)."""
    import av

    dst = folder / f"{src.stem}_{height}p.mp4"
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        width = round(vin.codec_context.width * height / vin.codec_context.height / 2) * 2
        vout = out.add_stream("libx264", rate=vin.average_rate or 25)
        vout.width, vout.height, vout.pix_fmt, vout.options = width, height, "yuv420p", {"crf": "12", "preset": "fast"}
        for frame in itertools.islice(inp.decode(vin), max_frames):
            for packet in vout.encode(frame.reformat(width=width, height=height, format="yuv420p")):
                out.mux(packet)
        for packet in vout.encode():
            out.mux(packet)
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", type=Path, nargs="+")
    ap.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped model)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--render-factor", type=int, default=None, help="default: the model's own, as the CLI uses")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--heights", type=int, nargs="*", default=[], help="add copies of the first clip at these heights")
    ap.add_argument("--max-frames", type=int, default=60, help="frames in each rescaled copy")
    args = ap.parse_args()

    colorizer = load_colorizer(args.weights, device=args.device, render_factor=args.render_factor, batch_size=args.batch_size)
    device = colorizer.device
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clips = list(args.clips) + [rescaled_copy(args.clips[0], h, Path(tmp), args.max_frames) for h in args.heights]
        for clip in clips:
            for stabilize in (False, True):
                reports = sorted((colorize_video(clip, Path(tmp) / "out.mp4", colorizer, stabilize=stabilize, measure=True)
                                  for _ in range(args.runs)), key=lambda x: x.frames_per_second)
                r = reports[len(reports) // 2]
                shares = " | ".join(f"{100 * r.stage_seconds.get(k, 0.0) / r.seconds:.0f}%" for k in STAGES)
                rows.append(f"| {clip.name} | {r.width}x{r.height} | {r.frames} | {'on' if stabilize else 'off'} | "
                            f"{r.frames_per_second:.2f} | {shares} | {r.flicker_input_model:.3f} | {r.flicker_output:.3f} |")
                print(rows[-1], flush=True)
    cmd = "python scripts/bench_video.py " + " ".join(sys.argv[1:])
    body = "\n".join([
        "## Video: frames/s and flicker",
        "",
        f"Device: {device}; torch {torch.__version__}; render factor {colorizer.render_factor}, batch {args.batch_size}; "
        f"median of {args.runs} runs; clips `*_480p`/`*_1080p` are the first clip's first {args.max_frames} frames rescaled; weights `{args.weights or 'shipped default'}`.",
        f"Command: `{cmd}`",
        "",
        "Flicker = mean |Δ Cb,Cr| between consecutive frames (0–255 scale) on pixels whose luminance changed by ≤ 4 levels; "
        "*raw* is the per-frame model colour, *output* what is written.",
        "",
        "Time shares are of the whole run's wall clock; the rest is opening files, audio, Python glue and the flicker "
        "measurement itself (an extra merge and frame comparison per frame, which a normal run does not do).",
        "",
        "| clip | size | frames | stabilise | frames/s (end to end) | " + " | ".join(STAGES) + " | flicker raw | flicker output |",
        "|---|---|---|---|---|" + "---|" * len(STAGES) + "---|---|",
        *rows,
    ])
    replace_section(SECTION, body)
    print(f"written to {DOC}")


if __name__ == "__main__":
    main()
