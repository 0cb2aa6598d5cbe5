"""Photo jobs (planned by `colorize.plan`): skip finished work by its record, decode, colorize in batches, write
atomically."""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from colorize import __version__
from colorize.atomic import TEMP_SUFFIX, atomic_write, check_writable, temp_target
from colorize.color.ycbcr import to_gray
from colorize.errors import BadInputError, ColorizeError
from colorize.hints import Hints
from colorize.images import DEFAULT_MAX_MEGAPIXELS, Photo, load_rgb, read_photo, write_photo
from colorize.plan import Job, record_path
from colorize.pipeline import Colorizer, ModelOutputError
from colorize.sheets import thumbnail
from colorize.weights import resolve_weights

log = logging.getLogger(__name__)
SHEET_PX = 384  # short side a finished photo is read at for the contact sheet: enough for its thumbnail


@dataclass
class Summary:
    """What a run did, for the closing line and the exit status."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    # (input, gray, colour) thumbnails kept for a before/after contact sheet when asked for, in the jobs' order.
    pairs: list[tuple[Path, np.ndarray, np.ndarray]] = field(default_factory=list)


def fingerprint(job: Job, settings: str) -> str:
    """What an output was made from, as a short digest: the input, its hints and reference photo (by size and
    modification time), and the run's `settings` (weights, render factor, vividness, version). A rerun redoes an
    output whose record differs."""
    def stamp(path: Path | None) -> str:
        try:
            st = path.stat() if path is not None else None
        except OSError:
            return f"{path}:missing"
        return "" if st is None else f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"

    hints = job.hints or Hints()
    parts = [settings, stamp(job.src), stamp(hints.image), *(p.text for p in hints.points)]
    if hints.reference is not None:
        parts.append(hints.reference.describe())
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


def _record_of(job: Job) -> str | None:
    """What `job`'s existing output records it was made from (`fingerprint`, or `PENDING`); None where it has no
    record: colorize did not make it."""
    try:
        return record_path(job.dst).read_text().strip()
    except OSError:
        return None


def remove_stale_temps(jobs: Sequence[Job]) -> int:
    """Delete temp files an interrupted run left beside these jobs' outputs and their records (only names
    `atomic_write` gives them)."""
    names: dict[Path, set[str]] = {}
    for job in jobs:
        names.setdefault(job.dst.parent, set()).update((job.dst.name, record_path(job.dst).name))
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
            record = _record_of(job)
            if record is None:  # not colorize's: a file of the user's that only has a result's name
                reason = f"{job.dst} is already there and not made by colorize; move it away, or --overwrite to replace it"
                log.error("%s: %s", job.src, reason)
                summary.failed.append((job.src, reason))
                progress(1)
                continue
            if record == digest:
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
