"""Where each photo's result and hints file go: one planning for `colorize photo`, `colorize photos` and the page's
Save, so all of them name, find and skip the same files. Decided from the inputs alone, before anything runs."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from colorize.atomic import BACKUP_SUFFIX
from colorize.errors import BadInputError, ColorizeError
from colorize.hints import HINTS_SUFFIX, Hints
from colorize.images import PHOTO_SUFFIXES, WRITABLE, output_suffix

log = logging.getLogger(__name__)

# A photo's own reference photo lies beside it as NAME.ref.EXT (`colorize photos`), and is never colorized itself.
REFERENCE_MARK = ".ref"


@dataclass(frozen=True)
class Job:
    """One photo to colorize: where it comes from and where it goes, and its colour hints; `error` fails it
    without trying."""

    src: Path
    dst: Path
    error: str | None = None
    hints: Hints | None = None


def record_path(output: Path) -> Path:
    """The hidden file beside an output that records what it was made from (`fingerprint`)."""
    return output.with_name(f".{output.name}.colorize")


def output_path(src: Path, out_dir: Path, suffix: str, ext: str, root: Path | None = None) -> Path:
    """`out_dir/<stem><suffix><ext>` for one input (`src` relative to `root` when given)."""
    return out_dir / f"{src.stem}{suffix}{output_suffix(root / src if root else src, ext)}"


def _refuse_overwrite(job: Job) -> None:
    if job.dst.resolve() == job.src.resolve():
        raise ColorizeError(f"{job.src}: the output would overwrite the input; set --suffix or -o")


def plan_single(src: Path, out: str | None, suffix: str, ext: str, overwrite: bool = False) -> Job:
    """Job for `colorize photo IN [-o OUT]`. OUT is a folder when it exists as one, ends with a separator or has no
    suffix (created if needed); otherwise a file of a format we write. An existing OUT file is never taken as this
    photo's result: it is refused unless `overwrite`."""
    if src.is_dir():
        raise ColorizeError(f"{src}: is a folder; use `colorize photos {src} -o OUTPUT_FOLDER`")
    if not src.is_file():
        raise ColorizeError(f"{src}: {'broken symbolic link' if src.is_symlink() else 'no such file'}")
    if out is None:
        dst = output_path(src, src.parent, suffix, ext)
    elif out.endswith(("/", os.sep)) or Path(out).is_dir() or not Path(out).suffix:
        dst = output_path(src, Path(out), suffix, ext)
    else:
        dst = Path(out)
        if dst.suffix.lower() not in WRITABLE:
            raise ColorizeError(f"{dst}: cannot write {dst.suffix} files; name the output .{' .'.join(sorted({k[1:] for k in WRITABLE}))}, "
                                "or a folder")
        if dst.exists() and not overwrite:
            raise ColorizeError(f"{dst}: already exists and may not be this photo's result; pass --overwrite to replace it")
    job = Job(src, dst)
    _refuse_overwrite(job)
    return job


def plan_folder(src_dir: Path, out_dir: Path, recursive: bool, suffix: str, ext: str) -> list[Job]:
    """Jobs for every non-hidden file under `src_dir` (images are recognised by content, later), mirrored in `out_dir`.

    Inputs that would share an output (`scan.png` + `scan.gif`) keep their own extension in its name instead
    (`scan_color.gif.png`); extensions that differ only in case are numbered too (`IMG_1_color.JPG-1.jpg`,
    `IMG_1_color.jpg-2.jpg`). Decided before anything runs, from the inputs alone, so a rerun finds them.
    """
    if not src_dir.is_dir():
        raise ColorizeError(f"{src_dir}: no such folder")
    out_abs = out_dir.resolve()
    files = sorted(src_dir.rglob("*") if recursive else src_dir.glob("*"))
    jobs = []
    for f in files:
        rel = f.relative_to(src_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if f.is_symlink() and not f.exists():  # a link to nothing, or in a loop
            jobs.append(Job(f, out_dir / rel, error=f"{f}: broken symbolic link (to nothing, or in a loop)"))
            continue
        if not f.is_file() or f.name.lower().endswith((HINTS_SUFFIX, HINTS_SUFFIX + BACKUP_SUFFIX)) or is_reference(f):
            continue
        if (out_abs != src_dir.resolve() and out_abs in f.resolve().parents) or record_path(f).is_file():
            continue  # our own outputs from an earlier run: in the output folder, or recorded beside their photo
        jobs.append(Job(f, output_path(rel, out_dir / rel.parent, suffix, ext, src_dir)))
    # When outputs sit among the inputs, an earlier run's outputs are not new inputs, under either name they may have
    # (`scan_color.png`, or `scan_color.png.png` where two photos share the stem).
    outputs = {j.dst.resolve() for j in jobs + _resolve_collisions(jobs, suffix) if j.error is None}
    jobs = _resolve_collisions([j for j in jobs if j.error is not None or j.src.resolve() not in outputs], suffix)
    for j in jobs:
        if j.error is None:
            _refuse_overwrite(j)
    return jobs


def attach_hints(jobs: list[Job], src_dir: Path, hints_dir: Path | None) -> list[Job]:
    """Give each job the hints image named after its photo: `NAME.EXT.hints.png` (its own, where photos share a
    stem), else `NAME.hints.png`: in `hints_dir` (mirroring `src_dir`'s subfolders) when given, else beside the
    photo. Where no name matches exactly, one that differs only in case does (`E.JPG` takes `e.hints.png`), unless
    it is another photo's own name (`img_1.jpg.hints.png` is not `IMG_1.JPG`'s)."""
    listings: dict[Path, dict[str, Path]] = {}
    photos: dict[Path, set[str]] = {}
    for job in jobs:
        photos.setdefault(job.src.parent, set()).add(job.src.name)
    out = []
    for job in jobs:
        folder = hints_dir / job.src.relative_to(src_dir).parent if hints_dir else job.src.parent
        if folder not in listings:
            listings[folder] = _hints_images(folder)
        others = {f"{name}{HINTS_SUFFIX}" for name in photos[job.src.parent] - {job.src.name}}
        found = None
        for name in (f"{job.src.name}{HINTS_SUFFIX}", f"{job.src.stem}{HINTS_SUFFIX}"):
            found = listings[folder].get(name)
            by_case = listings[folder].get(name.lower())
            found = found or (by_case if by_case is not None and by_case.name not in others else None)
            if found:
                break
        out.append(dataclasses.replace(job, hints=Hints(image=found)) if found else job)
    return out


def is_reference(path: Path) -> bool:
    """Whether a file is a photo's reference photo by its name: NAME.ref.EXT, EXT a photo's."""
    return path.suffix.lower() in PHOTO_SUFFIXES and path.stem.lower().endswith(REFERENCE_MARK)


def attach_references(jobs: list[Job], shared: Path | None) -> list[Job]:
    """Give each job its reference photo: its own beside it (`own_reference`), else `shared` (the folder's, read
    before anything else: one that cannot be used is an error for the run). Each is read once
    (`colorize.reference.Reference`); a photo's own that cannot be used (unreadable, gray) fails that photo, naming
    it, and the run goes on. A reference named after no photo beside it is said in the log."""
    from colorize.reference import Reference

    common = Reference.open(shared) if shared is not None else None
    opened: dict[Path, Reference | BadInputError] = {}
    listings: dict[Path, list[Path]] = {}
    out = []
    for job in jobs:
        folder = job.src.parent
        if folder not in listings:
            listings[folder] = sorted(f for f in _siblings(folder) if is_reference(f))
        path = own_reference(job.src, listings[folder])
        if job.error is not None or (path is None and common is None):
            out.append(job)
            continue
        if path is not None and path not in opened:
            try:
                opened[path] = Reference.open(path)
            except BadInputError as e:
                opened[path] = e
        ref = opened[path] if path is not None else common
        if isinstance(ref, BadInputError):
            out.append(dataclasses.replace(job, error=f"{job.src}: its reference {ref}"))
        else:
            out.append(dataclasses.replace(job, hints=dataclasses.replace(job.hints or Hints(), reference=ref)))
    photos = {j.src for j in jobs}
    for refs in listings.values():
        for ref in refs:
            if not any(own_reference(photo, [ref]) for photo in photos if photo.parent == ref.parent):
                log.warning("%s: named as a photo's reference (NAME.ref.EXT), but no photo NAME is beside it", ref)
    return out


def own_reference(photo: Path, references: Sequence[Path]) -> Path | None:
    """A photo's own reference among `references` (files of its folder): `NAME.EXT.ref.*`, else `NAME.ref.*`, NAME
    the photo's stem, in any case."""
    names = (f"{photo.name}{REFERENCE_MARK}".lower(), f"{photo.stem}{REFERENCE_MARK}".lower())
    for name in names:
        found = [r for r in references if r.parent == photo.parent and r.stem.lower() == name]
        if found:
            return found[0]
    return None


def reference_beside(photo: Path) -> Path | None:
    """A photo's own reference photo in its folder (`own_reference`), as `attach_references` finds it."""
    return own_reference(photo, [f for f in _siblings(photo.parent) if is_reference(f)])


def _siblings(folder: Path) -> list[Path]:
    """The files in `folder` (none where it cannot be listed)."""
    try:
        return [p for p in folder.iterdir() if p.is_file()]
    except OSError:
        return []


def own_hints_path(job: Job, jobs: Sequence[Job]) -> Path:
    """Where a hints file made for `job`'s photo alone is written (the page's Save): the file `attach_hints` reads
    first for it, `NAME.EXT.hints.png` (in whatever case it exists), where that exists or where `NAME.hints.png` is
    another photo's name too (`scan.png` and `scan.gif`; `scan.tif.jpg` beside `scan.tif`), else `NAME.hints.png`."""
    full, short = f"{job.src.name}{HINTS_SUFFIX}", f"{job.src.stem}{HINTS_SUFFIX}"
    siblings = [j for j in jobs if j.src.parent == job.src.parent and j.src != job.src]
    found = attach_hints([job, *siblings], job.src.parent, None)[0].hints
    if found is not None and found.image.name.lower() == full.lower():
        return found.image
    others = {n.lower() for j in siblings for n in (f"{j.src.name}{HINTS_SUFFIX}", f"{j.src.stem}{HINTS_SUFFIX}")}
    return job.src.with_name(full if short.lower() in others else short)


def _hints_images(folder: Path) -> dict[str, Path]:
    """The hints images in `folder` by name and by lower-case name."""
    try:
        files = [p for p in folder.iterdir() if p.name.lower().endswith(HINTS_SUFFIX) and p.is_file()]
    except OSError:
        return {}
    return {**{p.name.lower(): p for p in sorted(files, reverse=True)}, **{p.name: p for p in files}}


def _resolve_collisions(jobs: list[Job], suffix: str) -> list[Job]:
    """Rename outputs that several inputs share (compared case-insensitively, as some file systems do)."""
    def key(j: Job) -> str:
        return j.dst.as_posix().lower()

    counts = Counter(key(j) for j in jobs if j.error is None)
    renamed = [
        Job(j.src, j.dst.with_name(f"{j.src.stem}{suffix}{j.src.suffix}{j.dst.suffix}")) if j.error is None and counts[key(j)] > 1 else j
        for j in jobs
    ]
    # Extensions that differ only in case (IMG_1.JPG, IMG_1.jpg) still collide on such file systems: number them.
    groups: dict[str, list[Job]] = {}
    for j in renamed:
        if j.error is None:
            groups.setdefault(key(j), []).append(j)
    numbered = {}
    for members in groups.values():
        if len(members) > 1:
            for k, j in enumerate(sorted(members, key=lambda j: j.src.as_posix()), 1):
                numbered[j.src] = Job(j.src, j.dst.with_name(f"{j.dst.stem}-{k}{j.dst.suffix}"))
    return [numbered.get(j.src, j) for j in renamed]
