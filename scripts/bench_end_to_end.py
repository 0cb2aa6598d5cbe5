#!/usr/bin/env python3
"""End-to-end speed next to its floors: photos (0.3, 1 and 12 MP, at the model's own render factor) and a film, each beside the
time of its file I/O alone and of its network alone, as ratios.

    .venv/bin/python scripts/bench_end_to_end.py [--weights W] [--runs 3] [--write-doc]

Photos: a folder of `--photos` gray JPEGs (samples/heldout_hill.jpg at the size shown) colorized as `colorize photos`
does (`colorize.photos.run_jobs`, batch 4, the ONNX engine on CPU, model loaded and exported beforehand). Floors:
"I/O" decodes and encodes the same photos as the run does (`read_photo`, `write_photo`), "network" runs the
model's backend alone on one batch as the pipeline gives it (4 photos and, with the default mirror, their 4 mirror
images) at the render size (per photo: its time / 4). Film: a 640x480 clip (the sample photo
panned, 48 frames, H.264) through `colorize.video.colorize_video` with stabilisation; its I/O floor decodes and
encodes the same frames with PyAV, its network floor runs the backend on batches of 8. Each figure is the median of
`--runs` after one warm-up. `--write-doc` replaces the `bench_end_to_end` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdoc import median_seconds, replace_section  # noqa: E402
from colorize.images import read_photo, write_photo  # noqa: E402
from colorize.engine import EngineOptions, open_colorizer  # noqa: E402
from colorize.photos import run_jobs  # noqa: E402
from colorize.plan import plan_folder  # noqa: E402
from colorize.pipeline import RENDER_UNIT_PX  # noqa: E402

SECTION = "bench_end_to_end"
PHOTO = Path(__file__).resolve().parents[1] / "samples" / "heldout_hill.jpg"
BATCH = 4


def gray_photo(megapixels: float) -> np.ndarray:
    w = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    return np.asarray(Image.open(PHOTO).convert("L").resize((w, round(w * 3 / 4)), Image.Resampling.BICUBIC))


def photo_row(weights: Path | None, megapixels: float, factor: int, n: int, runs: int, work: Path) -> dict:
    """Seconds per photo: end to end, I/O alone, network alone."""
    src = work / f"in-{megapixels}"
    src.mkdir(exist_ok=True)
    gray = gray_photo(megapixels)
    for i in range(n):
        Image.fromarray(gray).save(src / f"p{i}.jpg", quality=92)
    colorizer = open_colorizer(EngineOptions(weights, "cpu", "onnx", factor, BATCH))
    out = work / "out"

    def end_to_end() -> None:
        run_jobs(plan_folder(src, out, False, "_color", "auto"), lambda: colorizer, BATCH, overwrite=True)

    def io_alone() -> None:
        for path in sorted(src.glob("*.jpg")):
            photo = read_photo(path)
            write_photo(out / f"io-{path.name}", np.repeat(photo.gray[..., None], 3, axis=2), photo)

    size = factor * RENDER_UNIT_PX
    # What the pipeline gives the network per batch: the photos, and with the mirror as many mirror images.
    n_in = BATCH * (2 if colorizer.mirror else 1)
    batch = np.random.default_rng(0).random((n_in, 1, size, size), dtype=np.float32)

    def network_alone() -> None:
        colorizer.backend.run(batch, colorizer.no_hints(n_in, size), colorizer.temperature)

    return {"e2e": median_seconds(end_to_end, runs) / n, "io": median_seconds(io_alone, runs) / n,
            "net": median_seconds(network_alone, runs) / BATCH}


def make_clip(path: Path, frames: int) -> None:
    """A 640x480 H.264 clip: the sample photo, gray, panned a few pixels per frame."""
    import av

    big = gray_photo(1.2)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for k in range(frames):
            crop = np.ascontiguousarray(big[20:500, 4 * k: 4 * k + 640])
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.repeat(crop[..., None], 3, axis=2), format="rgb24")))
        out.mux(stream.encode())


def film_row(weights: Path | None, factor: int, frames: int, runs: int, work: Path) -> dict:
    """Seconds per frame: end to end, I/O alone (decode + encode with PyAV), network alone (batches of 8)."""
    import av

    from colorize.video import colorize_video

    clip = work / "clip.mp4"
    make_clip(clip, frames)
    colorizer = open_colorizer(EngineOptions(weights, "cpu", "onnx", factor, 8))

    def end_to_end() -> None:
        colorize_video(clip, work / "color.mp4", colorizer, stabilize=True)

    def io_alone() -> None:
        with av.open(str(clip)) as inp, av.open(str(work / "io.mp4"), "w") as out:
            stream = out.add_stream("libx264", rate=Fraction(24), options={"crf": "17"})
            stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
            for frame in inp.decode(video=0):
                rgb = frame.to_ndarray(format="rgb24")
                out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            out.mux(stream.encode())

    size = factor * RENDER_UNIT_PX
    n_in = 8 * (2 if colorizer.mirror else 1)
    batch = np.random.default_rng(0).random((n_in, 1, size, size), dtype=np.float32)

    def network_alone() -> None:
        colorizer.backend.run(batch, colorizer.no_hints(n_in, size), colorizer.temperature)

    return {"e2e": median_seconds(end_to_end, runs) / frames, "io": median_seconds(io_alone, runs) / frames,
            "net": median_seconds(network_alone, runs) / 8}


def table(rows: list[tuple[str, dict]]) -> list[str]:
    lines = ["| what | end to end, ms | I/O alone, ms | network alone, ms | e2e / I/O | e2e / network | e2e / (I/O + network) |",
             "|---|---|---|---|---|---|---|"]
    for name, r in rows:
        lines.append(f"| {name} | {1000 * r['e2e']:.0f} | {1000 * r['io']:.0f} | {1000 * r['net']:.0f} | "
                     f"{r['e2e'] / r['io']:.1f}x | {r['e2e'] / r['net']:.2f}x | {r['e2e'] / (r['io'] + r['net']):.2f}x |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--write-doc", action="store_true")
    args = ap.parse_args()
    default_factor = open_colorizer(EngineOptions(args.weights, "cpu", "onnx", None, 1)).render_factor
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for mp in (0.3, 1, 12):  # a model never runs above its own render factor
            row = photo_row(args.weights, mp, default_factor, args.photos, args.runs, work)
            rows.append((f"photo {mp:g} MP, render factor {default_factor}", row))
            print(*table(rows[-1:])[2:], flush=True)
        rows.append((f"film 640x480, render factor {default_factor}, per frame",
                     film_row(args.weights, default_factor, args.frames, args.runs, work)))
        print(*table(rows[-1:])[2:], flush=True)
    by = dict(rows)
    large = by[f"photo 12 MP, render factor {default_factor}"]["e2e"] / by[f"photo 0.3 MP, render factor {default_factor}"]["e2e"]
    default_1mp = by[f"photo 1 MP, render factor {default_factor}"]
    goals = [f"- 12 MP against 0.3 MP: **{large:.2f}x** per photo (goal ≤ 1.3x).",
             f"- 1 MP at the default render factor ({default_factor}) against the network alone: "
             f"**{default_1mp['e2e'] / default_1mp['net']:.2f}x** (goal ≤ 2x)."]
    cpu = f"{platform.machine()} CPU, {os.cpu_count()} cores"
    body = "\n".join([
        "## End to end, beside its floors", "",
        f"Device: {cpu}; ONNX engine; batch {BATCH} for photos (`colorize photos`' default), 8 for film; median of "
        f"{args.runs} runs after a warm-up. Command: `python scripts/bench_end_to_end.py --runs {args.runs} --write-doc`", "",
        "Photos: a folder of gray JPEGs of `samples/heldout_hill.jpg` at the size shown, colorized and written as JPEG. "
        "*I/O alone* decodes and encodes the same files without the model; *network alone* is the model's backend on "
        "the batches the pipeline gives it (each photo and its mirror image, the default) at the render size. Film: a 640x480 H.264 clip of 48 frames, stabilised, encoded with x264 at CRF 17; "
        "its I/O floor decodes and encodes the same frames.", "",
        *table(rows), "", *goals])
    print(body)
    if args.write_doc:
        replace_section(SECTION, body)


if __name__ == "__main__":
    main()
