"""A corpus prepared for training at scale: `colorize data prepare SRC OUT` resizes every photo once and packs the
photos into tar shards with one index, so training opens a few large files instead of millions of small ones and
never walks a folder.

    OUT/shards/000000.tar     the photos, each a member named by its path relative to SRC (so splits, sources and
                              the manifest's groups carry over unchanged); JPEG names hold JPEG, others PNG
    OUT/shards/000000.json    the shard's record: its inputs (name, bytes, mtime), settings and members; written last
    OUT/manifest.csv          a row per photo: file, shard, offset, size, and SRC's manifest columns (group, licence...)
    OUT/cutouts/              SRC's cut-outs, copied

The tar format is written with the standard library rather than `webdataset`: training draws any photo of the corpus
at any step (`colorize.data`: a batch is a function of its step number, which makes resumed runs and data-parallel
ranks exact), which needs random access by byte offset, where webdataset streams each shard in order through a
shuffle buffer. The shards stay plain tars that webdataset and `tar` read. Torch-free.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import io
import json
import logging
import os
import shutil
import signal
import tarfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from colorize.atomic import TEMP_SUFFIX, atomic_write, temp_target
from colorize.corpus import CUTOUTS_DIR, MANIFEST, SHARDS_DIR, is_prepared, list_photos, read_manifest
from colorize.errors import ConfigError
from colorize.images import load_rgb

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

log = logging.getLogger(__name__)

# A shard's record says what it was made from; a rerun rebuilds a shard only when this changes.
RECORD_VERSION = 1


@dataclass
class PrepareReport:
    photos: int = 0
    shards: int = 0
    shards_reused: int = 0
    unreadable: list[str] = field(default_factory=list)


def _encode(rgb: np.ndarray, name: str, quality: int) -> bytes:
    """JPEG where the name says JPEG, else PNG: the name, and with it the split, stays the source's."""
    buf = io.BytesIO()
    if Path(name).suffix.lower() in (".jpg", ".jpeg"):
        Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    else:
        Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def _build_shard(shard_dir: Path, k: int, src: Path, inputs: list, settings: dict) -> dict:
    """Write shard `k` (atomically) from the photos named in `inputs`, then its record; returns the record. Runs in
    a worker process when `prepare` has several."""
    unreadable: list[str] = []

    def write(tmp: Path) -> None:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, *_ in inputs:
                rgb = load_rgb(src / name, settings["size_px"])
                if rgb is None:  # load_rgb has said why, naming the file
                    unreadable.append(name)
                    continue
                data = _encode(rgb, name, settings["quality"])
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))

    tar_path = shard_dir / f"{k:06d}.tar"
    atomic_write(tar_path, write)
    with tarfile.open(tar_path) as tar:
        members = [{"file": m.name, "offset": m.offset_data, "size": m.size} for m in tar.getmembers()]
    record = {"settings": settings, "inputs": inputs, "members": members, "unreadable": unreadable}
    atomic_write(shard_dir / f"{k:06d}.json", lambda tmp: tmp.write_text(json.dumps(record)))
    return record


def _read_record(path: Path) -> dict:
    """A shard's record, or {} where there is none or it is damaged (the shard is then built again)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _die_with_parent() -> None:
    """In a worker: be killed when the process that started it dies, even by SIGKILL, instead of building shards
    on for nobody (Linux's PR_SET_PDEATHSIG; elsewhere nothing). Python's pool has no such option: by hand."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the line above took effect
        os._exit(1)


def _build_shards(shard_dir: Path, src: Path, todo: dict[int, list], settings: dict, workers: int) -> Iterator[tuple[int, dict]]:
    """(k, record) of each shard in `todo` as it is done: in this process, or in a pool of `workers`."""
    if workers <= 1:
        for k, inputs in todo.items():
            yield k, _build_shard(shard_dir, k, src, inputs, settings)
        return
    with ProcessPoolExecutor(workers, initializer=_die_with_parent) as pool:
        futures = {pool.submit(_build_shard, shard_dir, k, src, inputs, settings): k for k, inputs in todo.items()}
        for future in as_completed(futures):
            yield futures[future], future.result()


def prepare(src: Path, out: Path, size_px: int = 512, photos_per_shard: int = 1000, quality: int = 95, workers: int = 1,
            progress: Callable[[int, int], None] = lambda n, total: None) -> PrepareReport:
    """Resize every photo of `src` to at most `size_px` on its short side and pack them into shards under `out`
    (layout in the module docstring), `workers` shards at a time. Resumable: a shard whose record matches its inputs
    and settings is kept. `progress(n, total)` is told of the photos of each shard done."""
    src, out = Path(src), Path(out)
    if out.resolve() == src.resolve() or src.resolve() in out.resolve().parents:
        raise ConfigError(f"{out}: the prepared corpus must go to a new folder outside its source {src}")
    if is_prepared(src):
        raise ConfigError(f"{src}: already a prepared corpus; prepare from the folder of photos it was made from")
    if out.is_dir() and any(out.iterdir()) and not (out / SHARDS_DIR).is_dir():
        raise ConfigError(f"{out}: exists and holds other files; prepare into a new folder (or one prepare made)")
    names = [p.relative_to(src).as_posix() for p in list_photos(src)]
    settings = {"version": RECORD_VERSION, "size_px": size_px, "quality": quality}
    shard_dir = out / SHARDS_DIR
    shard_dir.mkdir(parents=True, exist_ok=True)
    report, records, todo = PrepareReport(), {}, {}
    for k, first in enumerate(range(0, len(names), photos_per_shard)):
        inputs = [[n, (st := (src / n).stat()).st_size, st.st_mtime_ns] for n in names[first : first + photos_per_shard]]
        record_path = shard_dir / f"{k:06d}.json"
        record = _read_record(record_path)
        if record.get("settings") == settings and record.get("inputs") == inputs and (shard_dir / f"{k:06d}.tar").is_file():
            records[k] = record
            report.shards_reused += 1
            progress(len(inputs), len(names))
        else:
            todo[k] = inputs
    if todo:
        # The old index would describe shards about to be rebuilt: gone until the new one is written, so a killed
        # run never leaves a corpus that reads as prepared and points at the wrong bytes.
        (out / MANIFEST).unlink(missing_ok=True)
        for tmp in shard_dir.glob(f".*{TEMP_SUFFIX}"):  # a killed run's partial shards
            if temp_target(tmp.name) is not None:
                tmp.unlink()
    for k, record in _build_shards(shard_dir, src, todo, settings, workers):
        records[k] = record
        progress(len(todo[k]), len(names))
    report.shards = len(records)
    rows = [{**m, "shard": k} for k in sorted(records) for m in records[k]["members"]]
    report.unreadable = [n for k in sorted(records) for n in records[k]["unreadable"]]
    for stale in sorted(shard_dir.iterdir()):  # left by an earlier, larger corpus
        if stale.stem.isdigit() and int(stale.stem) >= report.shards:
            stale.unlink()
    _write_manifest(out, rows, read_manifest(src))
    _copy_cutouts(src, out)
    report.photos = len(rows)
    return report


def _write_manifest(out: Path, rows: list[dict], source: dict[str, dict[str, str]]) -> None:
    """OUT/manifest.csv: where each photo is, and what SRC's manifest said of it."""
    # The source's width and height described the photos before resizing: dropped, not carried over wrong.
    extra = sorted({k for r in source.values() for k in r} - {"file", "shard", "offset", "size", "width", "height"})
    fields = ["file", "shard", "offset", "size", *extra]

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            w.writerows({**source.get(r["file"], {}), **r} for r in rows)

    atomic_write(out / MANIFEST, write)


def _copy_cutouts(src: Path, out: Path) -> None:
    folder = src / CUTOUTS_DIR
    if folder.is_dir():
        (out / CUTOUTS_DIR).mkdir(exist_ok=True)
        for p in sorted(folder.glob("*.png")):
            dst = out / CUTOUTS_DIR / p.name
            if not dst.is_file() or dst.stat().st_size != p.stat().st_size:
                atomic_write(dst, lambda tmp: shutil.copyfile(p, tmp))
