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
from colorize.errors import ColorizeError

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
    typer.Option("--weights", "-w", help="Checkpoint to use (e.g. RUN/final.pt). Default: the shipped model."),
]
RenderFactorOpt = Annotated[
    Optional[int],
    typer.Option(
        "--render-factor", "-r", min=7, max=100,
        help="Model resolution = factor x 16 px. Lower: steadier colour; higher: finer detail. "
        "Default: the model's own, the scale it was trained at (`colorize info` shows it).",
    ),
]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Photos per model call.")]
DeviceOpt = Annotated[str, typer.Option("--device", "-d", help="auto, cpu, cuda or cuda:N.")]
Fp32Opt = Annotated[bool, typer.Option("--fp32", help="Full precision on CUDA (default there: fp16).")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Redo outputs that already exist (default: skip them).")]
SuffixOpt = Annotated[str, typer.Option("--suffix", help="Appended to each output's name; may be empty with -o.")]
ExtOpt = Annotated[Ext, typer.Option("--ext", help="Output format.", case_sensitive=False)]
MaxMpOpt = Annotated[
    float, typer.Option("--max-megapixels", min=1.0, help="Refuse larger images (decompression-bomb guard).")
]
VividnessOpt = Annotated[
    float, typer.Option("--vividness", min=0.1, max=5.0,
                        help="Colour strength: 1 = the model's own (tuned on held-out photos), higher = more saturated, "
                             "lower = paler. Scales the chroma gain (or divides an ab-bin model's temperature).")
]
EngineOpt = Annotated[
    Engine, typer.Option("--engine", case_sensitive=False,
                         help="auto: on CPU, the model exported once to ONNX and run by onnxruntime (starts ~10x faster, "
                              "no PyTorch import), else PyTorch; onnx or torch to choose.")
]
DataOpt = Annotated[Path, typer.Option("--data", help="Folder of colour photos (recursive).")]
SheetOpt = Annotated[
    Optional[Path], typer.Option("--sheet", help="Also write a before/after contact sheet PNG of every photo done.")
]


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One line and exit 1 for a ColorizeError (the traceback with -v); Ctrl-C exits 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ColorizeError as e:
            if log.isEnabledFor(logging.DEBUG):
                log.exception("traceback")
            typer.echo(f"colorize: error: {e}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("colorize: interrupted; finished outputs are kept, rerun to continue", err=True)
            raise typer.Exit(130) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"colorize {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logging (-vv for debug).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Errors only.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Restore and colorize old black-and-white photos and film."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("colorize: %(levelname)s: %(message)s"))
    root = logging.getLogger("colorize")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # A polite kill (SIGTERM) unwinds like Ctrl-C: temp files are removed and finished outputs kept.
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def colorizer_factory(weights: Optional[Path], device: str, render_factor: Optional[int], batch_size: int, fp32: bool,
                       vividness: float, engine: str) -> Callable[[], Any]:
    def make() -> Any:
        from colorize.onnx_engine import onnx_colorizer

        c = onnx_colorizer(weights, device, engine, render_factor, batch_size, vividness)
        if c is None:
            from colorize.inference import load_colorizer

            c = load_colorizer(weights, device=device, render_factor=render_factor, batch_size=batch_size, fp32=fp32,
                               vividness=vividness)
        log.info("model on %s, render size %d px", c.device, c.render_size_px)
        return c

    return make


def run_settings(weights: Optional[Path], render_factor: Optional[int], vividness: float) -> str:
    """What besides its input decides a photo's output, for the record that lets a rerun skip finished work."""
    from colorize.weights import resolve_weights

    try:
        path = resolve_weights(weights)
        st = path.stat()
        model = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    except (ColorizeError, OSError):
        model = str(weights)
    return f"colorize {__version__}; weights {model}; render factor {render_factor}; vividness {vividness:g}"


def run_photo_jobs(jobs: list, make: Callable[[], Any], batch_size: int, overwrite: bool, max_mp: float,
                    sheet: Optional[Path], where: Path, settings: str) -> None:
    from colorize.photos import run_jobs

    with progress_bar(len(jobs), "photo") as update:
        summary = run_jobs(jobs, make, batch_size, overwrite, max_mp, keep_pairs=sheet is not None, progress=update,
                           settings=settings)
    if sheet is not None:
        if summary.pairs:
            write_sheet(sheet, summary.pairs)
        else:
            typer.echo("contact sheet not written: no photo was colorized in this run (--overwrite redoes them)", err=True)
    typer.echo(
        f"colorized {len(summary.written)}, skipped {len(summary.skipped)} (already done), "
        f"failed {len(summary.failed)}; results in {where}",
        err=True,
    )
    if summary.failed:
        raise typer.Exit(1)


@contextlib.contextmanager
def progress_bar(total: int, unit: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (log lines drawn above it, not through it); without one, a plain line every
    5% or 10 s, so a piped or logged run still shows how far it is."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    if sys.stderr.isatty():
        with tqdm(total=total, unit=unit, file=sys.stderr, disable=total < 2) as bar, logging_redirect_tqdm([log]):
            yield bar.update
        return
    done, t0, last = 0, time.monotonic(), 0.0

    def update(n: int) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if total > 1 and (done == total or now - last >= 10 or done % max(1, total // 20) == 0):
            rate = done / max(now - t0, 1e-9)
            eta = (total - done) / rate if rate else float("inf")
            typer.echo(f"colorize: progress: {done}/{total} {unit}s ({rate:.2f}/s, {eta:.0f} s left)", err=True)
            last = now

    yield update


def write_sheet(path: Path, rows: list, col_labels: tuple[str, ...] = ("before", "after")) -> None:
    """`rows` of (name, image, image, ...) as a contact sheet PNG at `path`."""
    from PIL import Image

    from colorize.atomic import atomic_write
    from colorize.sheets import contact_sheet

    grid = contact_sheet([images for _, *images in rows], col_labels=col_labels, row_labels=[name for name, *_ in rows])
    atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))
    typer.echo(f"contact sheet: {path}", err=True)
