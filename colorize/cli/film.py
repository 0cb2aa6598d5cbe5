"""`colorize video` and `colorize frames`: film, frame by frame, with temporal stabilisation."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from colorize.atomic import check_writable
from colorize.cli.common import (
    BatchSizeOpt, DeviceOpt, Engine, EngineOpt, Ext, ExtOpt, Fp32Opt, MirrorOpt, OverwriteOpt, ReferenceOpt, RenderFactorOpt,
    VividnessOpt, WeightsOpt, app, friendly, open_reference, progress_bar, say, tell_references,
)
from colorize.errors import ColorizeError

StabilizeOpt = Annotated[
    bool, typer.Option("--stabilize/--no-stabilize", help="Smooth colour over time along optical flow (reset at cuts).")
]


@app.command()
@friendly(interrupted="the unfinished film was not written (frames written by --frames-out are kept); rerun to start it again")
def video(
    src: Annotated[Path, typer.Argument(help="Film to colorize (MP4, AVI, MOV, MKV, ...).", metavar="FILM")],
    out: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output video (.mp4, .mov, .mkv). Default: <name>_color.mp4 beside the input, unless only --frames-out is given.", metavar="PATH")] = None,
    frames_out: Annotated[Optional[Path], typer.Option("--frames-out", help="Also write the colorized frames as numbered PNGs here.", metavar="PATH")] = None,
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    batch_size: BatchSizeOpt = 8,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    stabilize: StabilizeOpt = True,
    codec: Annotated[str, typer.Option("--codec", help="Video encoder: libx264 (H.264), libx265, mpeg4, ...", metavar="TEXT")] = "libx264",
    crf: Annotated[int, typer.Option("--crf", min=0, max=51, help="Quality for x264/x265/VP9: lower is better; 17 is visually lossless for x264.", metavar="N")] = 17,
    overwrite: OverwriteOpt = False,
    report: Annotated[bool, typer.Option("--report", help="Measure flicker with and without stabilisation; print a JSON report.")] = False,
    vividness: VividnessOpt = 1.0,
    mirror: MirrorOpt = True,
    engine: EngineOpt = Engine.auto,
    reference: ReferenceOpt = None,
    hints: Annotated[Optional[list[str]], typer.Option("--hints", help="FRAME=HINTS.png: a hints image for one frame (FRAME a frame number, 0 the first, or a time like 00:01:12.5); its colours follow its whole shot along the motion (repeatable).", metavar="FRAME=PATH")] = None,
) -> None:
    """Colorize a film: frames are colorized in order, stabilised, and encoded with the original audio."""
    from colorize.engine import EngineOptions, open_colorizer
    from colorize.hints import Hints
    from colorize.film_files import check_film
    from colorize.video import colorize_video, report_json

    if out is None and frames_out is None:
        out = src.with_name(f"{src.stem}_color.mp4")
    check_film(src, out, codec)
    if out is not None and out.exists() and not overwrite:
        say(f"{out} exists; skipped (use --overwrite to redo it)")
        return
    keyframes = [_keyframe(text) for text in hints or ()]
    hints = Hints(reference=open_reference(reference)) if reference is not None else None
    check_writable([p.parent if p == out else p for p in (out, frames_out) if p is not None])
    colorizer = open_colorizer(EngineOptions(weights, device, engine.value, render_factor, batch_size, fp32, vividness, mirror))
    with progress_bar(None, "frame") as bar:
        rep = colorize_video(src, out, colorizer, stabilize=stabilize, codec=codec, crf=crf, frames_out=frames_out,
                             measure=report, progress=bar.update, on_total=lambda n: bar.set_total(n or None), hints=hints,
                             keyframes=keyframes)
    tell_references([hints and hints.reference], "frame")
    if report:
        typer.echo(report_json(rep))
    say(f"colorized {rep.frames} frames at {rep.frames_per_second:.1f} frames/s (audio: {rep.audio}); "
        f"results in {out or frames_out}")
    if rep.frames_skipped or rep.frames_missing:
        # The output holds every frame that could be decoded; exit 1 because it is not the whole film.
        typer.echo(f"colorize: error: {src}: {rep.frames_skipped} damaged frame(s) skipped"
                   + (f" (at {', '.join(f'{t:g} s' for t in rep.skipped_at_seconds[:5])})" if rep.frames_skipped else "")
                   + f", {rep.frames_missing} missing at the end (truncated file); the output has the rest", err=True)
        raise typer.Exit(1)


def _keyframe(text: str) -> tuple:
    """`FRAME=PATH` -> (FRAME, the hints image's Hints); a missing image or a malformed option is an error."""
    from colorize.film_hints import frame_number
    from colorize.hints import Hints

    frame, sep, path = text.partition("=")
    if not sep or not frame.strip() or not path.strip():
        raise ColorizeError(f"--hints {text!r}: expected FRAME=HINTS.png, e.g. 120=frame120.hints.png or 00:01:12.5=hints.png")
    if not Path(path).is_file():
        raise ColorizeError(f"{path}: hints image not found (--hints {text})")
    frame_number(frame, 25.0)  # a malformed FRAME is an error before anything is read
    return frame, Hints(image=Path(path))


@app.command()
@friendly
def frames(
    src_dir: Annotated[Path, typer.Argument(help="Folder of numbered frames (frame_0001.png, ...).", metavar="FOLDER")],
    out_dir: Annotated[Path, typer.Option("--output", "-o", help="Output folder for the colorized frames.", metavar="PATH")],
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    batch_size: BatchSizeOpt = 8,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    stabilize: StabilizeOpt = True,
    ext: ExtOpt = Ext.auto,
    overwrite: OverwriteOpt = False,
    vividness: VividnessOpt = 1.0,
    mirror: MirrorOpt = True,
    engine: EngineOpt = Engine.auto,
    reference: ReferenceOpt = None,
) -> None:
    """Colorize a folder of numbered frames in order, with the same temporal treatment as `video`; resumable."""
    from colorize.engine import EngineOptions, open_colorizer
    from colorize.hints import Hints
    from colorize.video import colorize_frames, numbered_frames

    if not src_dir.is_dir():
        raise ColorizeError(f"{src_dir}: no such folder")
    total = len(numbered_frames(src_dir))
    hints = Hints(reference=open_reference(reference)) if reference is not None else None
    check_writable([out_dir])
    colorizer = open_colorizer(EngineOptions(weights, device, engine.value, render_factor, batch_size, fp32, vividness, mirror))
    with progress_bar(total, "frame") as bar:
        written, skipped = colorize_frames(src_dir, out_dir, colorizer, stabilize, ext.value, overwrite, bar.update, hints)
    tell_references([hints and hints.reference], "frame")
    say(f"colorized {written}, skipped {skipped} (already done); results in {out_dir}")
