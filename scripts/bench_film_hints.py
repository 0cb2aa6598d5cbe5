#!/usr/bin/env python3
"""The cost of film hints: `colorize video` end to end (decode, model, stabilise, merge, encode) on a real clip,
without hints and with one hinted frame in the middle (its first pass included), and the floor: decoding alone.

    python scripts/bench_film_hints.py --runs 3 [--cache .cache/packages]   # rewrites "bench_film_hints" in docs/benchmarks.md

The clip is Kivy's examples' night city (fetched as scripts/film_card.py fetches it), cut to its first shot.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import median_seconds, replace_section  # noqa: E402
from film_card import clips  # noqa: E402

from colorize.engine import EngineOptions, open_colorizer  # noqa: E402
from colorize.hint_sampling import sample_point_hints  # noqa: E402
from colorize.hint_files import Dot, encode_hints  # noqa: E402
from colorize.hints import Hints  # noqa: E402
from colorize.video import colorize_video  # noqa: E402

FRAMES = 110  # the first shot


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache" / "packages")
    args = ap.parse_args()
    source = next(path for name, path in clips(args.cache).items() if name.startswith("night city"))
    colorizer = open_colorizer(EngineOptions(None, "cpu", batch_size=8))
    with tempfile.TemporaryDirectory() as tmp:
        clip, hints_png, out = Path(tmp) / "shot.mp4", Path(tmp) / "key.hints.png", Path(tmp) / "out.mp4"
        with av.open(str(source)) as inp, av.open(str(clip), "w") as dst:
            vin = inp.streams.video[0]
            vout = dst.add_stream("libx264", rate=round(float(vin.average_rate)))
            even = lambda n: n - n % 2  # noqa: E731 (H.264 in 4:2:0 codes even sizes)
            vout.width, vout.height = even(vin.codec_context.width), even(vin.codec_context.height)
            vout.pix_fmt, vout.options = "yuv420p", {"crf": "12"}
            reals = []
            for _, frame in zip(range(FRAMES), inp.decode(video=0)):
                reals.append(np.ascontiguousarray(frame.to_ndarray(format="rgb24")[: vout.height, : vout.width]))
                for packet in vout.encode(av.VideoFrame.from_ndarray(reals[-1], format="rgb24")):
                    dst.mux(packet)
            for packet in vout.encode():
                dst.mux(packet)
        key = FRAMES // 2
        h, w = reals[key].shape[:2]
        dots = [Dot(int(p.x), int(p.y), p.rgb) for p in sample_point_hints(reals[key], 16, np.random.default_rng(0)).points]
        hints_png.write_bytes(encode_hints(None, dots, h, w))

        def run(keyframes: list) -> None:
            out.unlink(missing_ok=True)
            colorize_video(clip, out, colorizer, keyframes=keyframes)

        def decode() -> None:
            with av.open(str(clip)) as inp:
                for frame in inp.decode(video=0):
                    frame.to_ndarray(format="gray")

        plain = median_seconds(lambda: run([]), args.runs)
        hinted = median_seconds(lambda: run([(str(key), Hints(image=hints_png))]), args.runs)
        floor = median_seconds(decode, args.runs)
    lines = [
        "## Film hints: the carry's cost",
        "",
        f"Device: {platform.machine()} CPU, {os.cpu_count()} cores; median of {args.runs} runs after a warm-up; the night "
        f"city clip's first shot ({FRAMES} frames, {w}x{h}), `colorize video` end to end with the shipped default model "
        f"(ONNX engine, batch 8), 16 true-colour dots on frame {key}. Command: `python scripts/bench_film_hints.py --runs {args.runs}`",
        "",
        "| run | seconds | frames/s | against no hints |",
        "|---|---|---|---|",
        f"| no hints | {plain:.1f} | {FRAMES / plain:.1f} | |",
        f"| one hinted frame (first pass, carry both ways) | {hinted:.1f} | {FRAMES / hinted:.1f} | +{100 * (hinted / plain - 1):.0f} % |",
        f"| floor: decoding alone | {floor:.2f} | {FRAMES / floor:.0f} | |",
    ]
    replace_section("bench_film_hints", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
