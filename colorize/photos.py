"""Photo jobs: plan input -> output paths, skip finished work, decode, colorize in batches, write atomically."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import os
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from colorize import __version__
from colorize.atomic import BACKUP_SUFFIX, TEMP_SUFFIX, atomic_write, check_writable, temp_target
from colorize.color.ycbcr import to_gray
from colorize.errors import BadInputError, ColorizeError
from colorize.hints import HINTS_SUFFIX, Hints
from colorize.images import DEFAULT_MAX_MEGAPIXELS, WRITABLE, Photo, load_rgb, output_suffix, read_photo, write_photo
from colorize.pipeline import Colorizer, ModelOutputError
from colorize.sheets import thumbnail
from colorize.weights import resolve_weights

log = logging.getLogger(__name__)
SHEET_PX = 384  # short side a finished photo is read at for the contact sheet: enough for its thumbnail


@dataclass(frozen=True)
class Job:
    """One photo to colorize: where it comes from and where it goes, and its colour hints; `error` fails it
    without trying."""

    src: Path
    dst: Path
    error: str | None = None
    hints: Hints | None = None


@dataclass
class Summary:
    """What a run did, for the closing line and the exit status."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    # (input, gray, colour) thumbnails kept for a before/after contact sheet when asked for, in the jobs' order.
    pairs: list[tuple[Path, np.ndarray, np.ndarray]] = field(default_factory=list)


def fingerprint(job: Job, settings: str) -> str:
    """What an output was made from, as a short digest: the input and its hints (by size and modification time), and
    the run's `settings` (weights, render factor, vividness, version). A rerun redoes an output whose record differs."""
    def stamp(path: Path | None) -> str:
        try:
            st = path.stat() if path is not None else None
        except OSError:
            return f"{path}:missing"
        return "" if st is None else f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"

    hints = job.hints or Hints()
    parts = [settings, stamp(job.src), stamp(hints.image), *(p.text for p in hints.points)]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]  # any file name


def run_settings(weights: Path | None, render_factor: int | None, vividness: float, mirror: bool = True) -> str:
    """What besides its input decides a photo's output (`fingerprint`'s `settings`): the same for every writer, the
    commands and the page, so each one's record tells the other what it made."""
    try:
        path = resolve_weights(weights)
        st = path.stat()
        model = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    except (ColorizeError, OSError):
        model = str(weights)
    return (f"colorize {__version__}; weights {model}; render factor {render_factor}; vividness {vividness:g}"
            + ("; mirror" if mirror else ""))


# What an output's record says while the output is being written: it matches no inputs, so an output a killed or
# failed write left (or an older one it did not replace) is made again by the next run, never kept as done.
PENDING = "pending"


def write_record(job: Job, digest: str) -> None:
    """The record of what `job`'s output is made from: `PENDING` before the output is written, so an output never
    exists without a record and a killed run's outputs are all known, then the digest once it is written."""
    atomic_write(record_path(job.dst), lambda tmp: tmp.write_text(digest + "\n"))


def record_path(output: Path) -> Path:
    """The hidden file beside an output that records what it was made from (`fingerprint`)."""
    return output.with_name(f".{output.name}.colorize")


def _made_from_else(job: Job, digest: str) -> bool:
    """Whether `job`'s existing output records other inputs or settings than `digest` (no record: made by an older
    colorize or written by hand, so kept)."""
    try:
        return record_path(job.dst).read_text().strip() != digest
    except OSError:
        return False


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
        if not f.is_file() or f.name.lower().endswith((HINTS_SUFFIX, HINTS_SUFFIX + BACKUP_SUFFIX)):
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


def own_hints_path(job: Job, jobs: Sequence[Job]) -> Path:
    """Where a hints file made for `job`'s photo alone is written (the page's Save): the file `attach_hints` reads
    first for it, `NAME.EXT.hints.png`, where that exists or where `NAME.hints.png` is another photo's name too
    (`scan.png` and `scan.gif`; `scan.tif.jpg` beside `scan.tif`), else `NAME.hints.png`."""
    full, short = f"{job.src.name}{HINTS_SUFFIX}", f"{job.src.stem}{HINTS_SUFFIX}"
    others = {n.lower() for j in jobs if j.src.parent == job.src.parent and j.src != job.src
              for n in (f"{j.src.name}{HINTS_SUFFIX}", f"{j.src.stem}{HINTS_SUFFIX}")}
    return job.src.with_name(full if job.src.with_name(full).is_file() or short.lower() in others else short)


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


def remove_stale_temps(jobs: Sequence[Job]) -> int:
    """Delete temp files an interrupted run left beside these jobs' outputs (only names `atomic_write` gives them)."""
    names: dict[Path, set[str]] = {}
    for job in jobs:
        names.setdefault(job.dst.parent, set()).add(job.dst.name)
    removed = 0
    for folder, outputs in names.items():  # one listing per folder, not one per photo
        if not folder.is_dir():
            continue
        for tmp in folder.glob(f".*{TEMP_SUFFIX}"):
            if temp_target(tmp.name) in outputs:
                tmp.unlink(missing_ok=True)
                removed += 1
    if removed:
        log.info("removed %d temp file(s) left by an interrupted run", removed)
    return removed


def _decoded(
    jobs: Sequence[Job], max_megapixels: float, ahead: int
) -> Iterator[tuple[Job, Photo | BadInputError]]:
    """Decode in worker threads, at most `ahead` photos in flight, overlapping decode with the model's compute
    (Pillow releases the GIL while decoding) while keeping memory bounded on folders of any size."""

    def load(job: Job) -> Photo | BadInputError:
        try:
            photo = read_photo(job.src, max_megapixels)
            if job.hints is not None:
                job.hints.check(*photo.gray.shape)
            return photo
        except BadInputError as e:
            return e
        except ColorizeError as e:  # a hint outside this photo
            return BadInputError(f"{job.src}: {e}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: deque[tuple[Job, Future]] = deque()
        queue = iter(jobs)
        for job in itertools.islice(queue, ahead):
            pending.append((job, pool.submit(load, job)))
        while pending:
            job, fut = pending.popleft()
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(load, nxt)))
            yield job, fut.result()


def _to_do(jobs: Sequence[Job], overwrite: bool, settings: str, summary: Summary,
           progress: Callable[[int], None]) -> dict[Job, str]:
    """The jobs to run, each with what its output will be made from (`fingerprint`); planning errors and outputs
    already made from the same inputs and settings go into `summary`."""
    todo = {}
    for job in jobs:
        if job.error is not None:
            log.error("%s", job.error)
            summary.failed.append((job.src, job.error))
            progress(1)
            continue
        digest = fingerprint(job, settings)
        if job.dst.exists() and not overwrite:
            if not _made_from_else(job, digest):
                summary.skipped.append(job.dst)
                progress(1)
                continue
            log.info("%s: its hints or settings changed since %s was made: redoing it", job.src, job.dst)
        todo[job] = digest
    return todo


class _BatchWriter:
    """Colorizes a batch, then writes its outputs in threads while the next batch is colorized (encoding a large
    JPEG or PNG takes as long as the model, and Pillow releases the GIL). At most one batch is in flight, so memory
    stays bounded."""

    def __init__(self, colorizer: Colorizer, pool: ThreadPoolExecutor, summary: Summary, keep_pairs: bool,
                 progress: Callable[[int], None]) -> None:
        self.colorizer, self.pool, self.summary, self.keep_pairs, self.progress = colorizer, pool, summary, keep_pairs, progress
        self.writing: list[tuple[Job, Photo, np.ndarray, str, Future]] = []

    def colorize(self, batch: list[tuple[Job, Photo, str]]) -> None:
        try:
            colors = self.colorizer.colorize([p.gray for _, p, _ in batch], [job.hints for job, _, _ in batch])
        except ModelOutputError as e:
            for job, _, _ in batch:
                log.error("%s: %s", job.src, e)
                self.summary.failed.append((job.src, str(e)))
                self.progress(1)
            return
        self.collect()
        for (job, photo, digest), rgb in zip(batch, colors):
            write_record(job, PENDING)
            self.writing.append((job, photo, rgb, digest, self.pool.submit(write_photo, job.dst, rgb, photo)))

    def collect(self) -> None:
        """Wait for the batch being written and account for it."""
        for job, photo, rgb, digest, fut in self.writing:
            try:
                written = fut.result()
                write_record(job, digest)
            except (OSError, ColorizeError) as e:
                reason = str(e) if isinstance(e, ColorizeError) else f"cannot write output {job.dst} ({e})"
                log.error("%s: %s", job.src, reason)
                self.summary.failed.append((job.src, reason))
            else:
                self.summary.written.append(written)
                if self.keep_pairs:
                    self.summary.pairs.append((job.src, thumbnail(photo.gray), thumbnail(rgb)))
            self.progress(1)
        self.writing.clear()


def run_jobs(
    jobs: Sequence[Job],
    make_colorizer: Callable[[], Colorizer],
    batch_size: int,
    overwrite: bool = False,
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS,
    keep_pairs: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    settings: str = "",
) -> Summary:
    """Colorize `jobs`; outputs finished from the same input, hints and `settings` are skipped unless `overwrite`;
    one bad file never stops the run.

    The colorizer is created only when there is something to do, so a rerun over finished work loads no model.
    """
    summary = Summary()
    remove_stale_temps(jobs)
    todo = _to_do(jobs, overwrite, settings, summary, progress)
    if keep_pairs:  # the sheet shows every photo done, in this run or before
        skipped = set(summary.skipped)
        summary.pairs += [pair for job in jobs if job.dst in skipped and (pair := _done_pair(job)) is not None]
    if todo:
        _colorize(todo, make_colorizer, batch_size, max_megapixels, keep_pairs, progress, summary)
    order = {job.src: i for i, job in enumerate(jobs)}
    summary.pairs.sort(key=lambda pair: order[pair[0]])
    return summary


def _done_pair(job: Job) -> tuple[Path, np.ndarray, np.ndarray] | None:
    """The before/after thumbnails of a photo an earlier run finished, for the contact sheet; None if unreadable."""
    before, after = load_rgb(job.src, SHEET_PX, label=str(job.src)), load_rgb(job.dst, SHEET_PX, label=str(job.dst))
    if before is None or after is None:
        return None
    return job.src, thumbnail(to_gray(before)), thumbnail(after)


def _colorize(todo: dict[Job, str], make_colorizer: Callable[[], Colorizer], batch_size: int, max_megapixels: float,
              keep_pairs: bool, progress: Callable[[int], None], summary: Summary) -> None:
    """Colorize and write the jobs `todo` (each with its output's digest), accounting for each in `summary`."""
    check_writable({job.dst.parent for job in todo})
    colorizer = make_colorizer()
    with ThreadPoolExecutor(max_workers=2) as pool:
        out = _BatchWriter(colorizer, pool, summary, keep_pairs, progress)
        batch: list[tuple[Job, Photo, str]] = []
        for job, result in _decoded(list(todo), max_megapixels, ahead=2 * batch_size):
            if isinstance(result, BadInputError):
                log.error("%s", result)
                summary.failed.append((job.src, str(result)))
                progress(1)
                continue
            batch.append((job, result, todo[job]))
            if len(batch) >= batch_size:
                out.colorize(batch)
                batch = []
        if batch:
            out.colorize(batch)
        out.collect()
