#!/usr/bin/env python3
"""Benchmark photo colorization: photos/s and peak memory versus render factor, input size and batch, for the
shipped model and DeOldify-sized baselines in the same run.

    .venv/bin/python scripts/bench_inference.py [--weights W] [--device auto] [--runs 3]

Every configuration runs in its own process (so peak memory is that configuration's own), is warmed up once, then
timed `--runs` times; the median is reported. A photo is a real one (samples/einstein.jpg) resized to the input
size; "model" is the time in `Colorizer.chroma` (resize to render size + network), "merge" the rest (chroma
upsampling + luminance merge at full size). Peak memory is the process's peak RSS on CPU (model, libraries and
images included) and `torch.cuda.max_memory_allocated` on CUDA. Results replace the `bench_inference` section of
docs/benchmarks.md.

DeOldify-sized baselines are the same generator factory on ResNet34 and ResNet101 encoders (random weights: speed
does not depend on them). fastai's DynamicUnet has no decoder-width factor, so they have fewer parameters than
DeOldify's published 64M / 220M models (see the table); the ratios against them are therefore conservative.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchdoc import DOC, replace_section  # noqa: E402
from colorize.config import ModelConfig  # noqa: E402
from colorize.inference import describe_device, resolve_device, torch_colorizer  # noqa: E402
from colorize.models import count_parameters, create_generator  # noqa: E402
from colorize.weights import load_generator, resolve_weights  # noqa: E402

SECTION = "bench_inference"
PHOTO = ROOT / "samples" / "einstein.jpg"
BASELINES = {"DeOldify-sized ResNet34": "resnet34", "DeOldify-sized ResNet101": "resnet101"}
DEFAULT = "colorize default"


def test_photo(megapixels: float) -> np.ndarray:
    """The sample photo's luminance resized to about `megapixels` at 4:3."""
    w = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    h = round(w * 3 / 4)
    return np.asarray(Image.open(PHOTO).convert("L").resize((w, h), Image.Resampling.BICUBIC))


def build(model_name: str, weights: str | None) -> torch.nn.Module:
    """The shipped (or given) generator, or a DeOldify-sized baseline."""
    if model_name == DEFAULT:
        return load_generator(resolve_weights(Path(weights) if weights else None))[0]
    return create_generator(ModelConfig(arch=BASELINES[model_name]), pretrained=False)


def measure(spec: dict) -> dict:
    """Time one configuration in this process; returns its medians and peak memory."""
    model = build(spec["model"], spec["weights"])
    # channels_last is passed only to turn it off, so this script also runs against older colorize versions.
    layout = {} if spec.get("channels_last", True) else {"channels_last": False}
    colorizer = torch_colorizer(model, device=spec["device"], render_factor=spec["rf"], batch_size=spec["batch"], **layout)
    device = colorizer.backend.device
    cuda = device.type == "cuda"
    grays = [test_photo(spec["mp"])] * spec["batch"]

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    totals, models = [], []
    for i in range(spec["runs"] + 1):  # the first is warm-up
        sync()
        t0 = time.perf_counter()
        chroma = colorizer.chroma(grays)
        sync()
        t1 = time.perf_counter()
        for g, c in zip(grays, chroma):
            colorizer.merge(g, c)
        sync()
        if i:
            totals.append(time.perf_counter() - t0)
            models.append(t1 - t0)
    n = spec["batch"]
    peak = torch.cuda.max_memory_allocated(device) if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        **spec,
        "params_m": count_parameters(model) / 1e6,
        "s_per_photo": statistics.median(totals) / n,
        "model_s_per_photo": statistics.median(models) / n,
        "peak_mib": peak / 2**20,
    }


def measure_folder(spec: dict) -> dict:
    """End to end as `colorize photos` does it: decode, colorize in batches, encode JPEG, write; photos/s."""
    import tempfile

    from colorize.photos import run_jobs
    from colorize.plan import plan_folder

    model = build(spec["model"], spec["weights"])
    colorizer = torch_colorizer(model, device=spec["device"], render_factor=spec["rf"], batch_size=spec["batch"])
    photo = Image.fromarray(test_photo(spec["mp"]))
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(spec["n_photos"]):
            photo.save(src / f"{i:03d}.jpg", quality=90)
        colorizer.colorize([np.asarray(photo)])  # warm-up
        for run in range(spec["runs"]):
            jobs = plan_folder(src, Path(tmp) / f"out{run}", False, "_color", "auto")
            t0 = time.perf_counter()
            summary = run_jobs(jobs, lambda: colorizer, spec["batch"])
            times.append(time.perf_counter() - t0)
            assert len(summary.written) == spec["n_photos"], summary.failed
    return {**spec, "photos_per_s": spec["n_photos"] / statistics.median(times)}


def run_child(spec: dict) -> dict:
    """Measure `spec` in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(r: dict) -> str:
    """One Markdown table row."""
    return (f"| {r['model']} ({r['params_m']:.1f}M) | {r['rf']} | {r['mp']:g} | {r['batch']} | {1 / r['s_per_photo']:.2f} | "
            f"{1000 * r['s_per_photo']:.0f} | {1000 * r['model_s_per_photo']:.0f} | {1000 * (r['s_per_photo'] - r['model_s_per_photo']):.0f} | "
            f"{r['peak_mib']:.0f} |")


HEADER = ("| model (params) | render factor | input MP | batch | photos/s | ms/photo | model ms | merge ms | peak MiB |",
          "|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=None, help="checkpoint (default: the shipped model)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--render-factors", type=int, nargs="+", default=[14, 21, 35, 45])
    ap.add_argument("--megapixels", type=float, nargs="+", default=[0.3, 1, 4, 12])
    ap.add_argument("--batch", type=int, default=8, help="the batched rows' batch size")
    ap.add_argument("--grid", choices=["all", "sizes", "folder"], default="all", help="only one table (for before/after runs)")
    ap.add_argument("--folder-photos", type=int, default=16, help="photos in the end-to-end folder run")
    ap.add_argument("--section", default=SECTION, help="which marked section of docs/benchmarks.md to replace")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(measure_folder(spec) if spec.get("folder") else measure(spec)))
        return

    base = {"weights": args.weights, "device": args.device, "runs": args.runs}

    def go(**kw: object) -> dict:
        r = run_child({**base, **kw})
        print(json.dumps({k: r[k] for k in ("model", "rf", "mp", "batch", "s_per_photo", "peak_mib")}), flush=True)
        return r

    cmd = "python scripts/bench_inference.py " + " ".join(sys.argv[1:])
    intro = [
        f"Device: {describe_device(resolve_device(args.device))}; torch {torch.__version__}; median of {args.runs} timed "
        f"runs after one warm-up, each configuration in its own process; weights `{args.weights or 'shipped default'}`. "
        f"Command: `{cmd}`",
        "",
        "ms/photo = model ms (resize to render size + network) + merge ms (chroma upsampling + luminance merge at full "
        "size). Peak MiB: peak RSS of the process on CPU (libraries and model included), `max_memory_allocated` on CUDA.",
        "",
    ]
    tables: dict[str, list[str]] = {}
    if args.grid in ("all", "sizes"):
        sizes = [go(model=DEFAULT, rf=35, mp=mp, batch=b) for b in (1, args.batch) for mp in args.megapixels]
        tables["sizes"] = [
            "### Input size (render factor 35): the network's cost does not grow with the photo",
            "",
            HEADER[0] + f" time vs {args.megapixels[0]:g} MP batch 1 |",
            HEADER[1] + "---|",
            *(row(r) + f" {r['s_per_photo'] / sizes[0]['s_per_photo']:.2f}x |" for r in sizes),
        ]
    if args.grid in ("all", "folder"):
        folder = [run_child({**base, "folder": True, "model": DEFAULT, "rf": 35, "mp": mp, "batch": 4, "n_photos": args.folder_photos})
                  for mp in (1.0, 12.0)]
        tables["folder"] = [
            f"### End to end: a folder of {args.folder_photos} JPEGs (decode, colorize, encode, write; render factor 35, batch 4)",
            "",
            "| input MP | photos/s |",
            "|---|---|",
            *(f"| {r['mp']:g} | {r['photos_per_s']:.2f} |" for r in folder),
        ]
    if args.grid != "all":
        replace_section(args.section, "\n".join([f"## Photos: {args.grid} only", "", *intro, *tables[args.grid]]))
        print(f"written to {DOC}")
        return

    models = [DEFAULT, *BASELINES]
    by_rf = {m: [go(model=m, rf=rf, mp=1.0, batch=1) for rf in args.render_factors] for m in models}
    ratio_rows = []
    for i, rf in enumerate(args.render_factors):
        ours = by_rf[DEFAULT][i]
        ratio_rows.append(f"| {rf} | {1 / ours['s_per_photo']:.2f} | " + " | ".join(
            f"{1 / by_rf[m][i]['s_per_photo']:.2f} | {by_rf[m][i]['s_per_photo'] / ours['s_per_photo']:.1f}x" for m in BASELINES) + " |")
    layout_rows = [row({**r, "model": f"{DEFAULT}, channels_last {'on' if cl else 'off'}"})
                   for cl in (False, True) for r in [go(model=DEFAULT, rf=35, mp=1.0, batch=1, channels_last=cl)]]
    body = "\n".join([
        "## Photos: throughput and memory",
        "",
        *intro,
        "### Versus DeOldify-sized baselines (1 MP input, batch 1)",
        "",
        "| render factor | colorize photos/s | " + " | ".join(f"{m} photos/s | speed-up" for m in BASELINES) + " |",
        "|---|---|" + "---|---|" * len(BASELINES),
        *ratio_rows,
        "",
        *HEADER,
        *(row(r) for m in models for r in by_rf[m]),
        "",
        *tables["sizes"],
        "",
        *tables["folder"],
        "",
        "### Memory layout (render factor 35, 1 MP, batch 1)",
        "",
        *HEADER,
        *layout_rows,
    ])
    replace_section(args.section, body)
    print(f"written to {DOC}")


if __name__ == "__main__":
    main()
