"""`colorize photo` and `colorize photos`: one photo, or a folder of them."""

import dataclasses
import functools
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from colorize.cli.common import (
    BatchSizeOpt, DeviceOpt, Engine, EngineOpt, Ext, ExtOpt, Fp32Opt, MaxMpOpt, OverwriteOpt, ReferenceOpt,
    RenderFactorOpt, SheetOpt, SuffixOpt, MirrorOpt, VividnessOpt, WeightsOpt, app, friendly, open_reference,
    run_photo_jobs,
)
from colorize.errors import ColorizeError


@app.command()
@friendly
def photo(
    src: Annotated[Path, typer.Argument(help="The photo to colorize.", metavar="PHOTO")],
    out: Annotated[Optional[str], typer.Option("--output", "-o", help="Output file (.jpg, .png, .tif, .webp, .bmp) or folder (existing, ending in /, or without a suffix). Default: beside the input.", metavar="TEXT")] = None,
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
    mirror: MirrorOpt = True,
    engine: EngineOpt = Engine.auto,
    hint: Annotated[Optional[list[str]], typer.Option("--hint", help="A colour you know: X,Y=COLOR, X,Y in pixels of the photo or as percentages (50%,20%), COLOR #rrggbb or a CSS name (repeatable). Spread over the object it falls on.", metavar="TEXT")] = None,
    hints: Annotated[Optional[Path], typer.Option("--hints", help="Hints image: a PNG of the photo's shape whose opaque pixels are colour hints (scribbles drawn over the photo).", metavar="PATH")] = None,
    reference: ReferenceOpt = None,
) -> None:
    """Colorize one photo."""
    from colorize.engine import EngineOptions, open_colorizer
    from colorize.hints import Hints, PointHint
    from colorize.photos import run_settings
    from colorize.plan import plan_single

    job = plan_single(src, out, suffix, ext.value, overwrite)
    if hint or hints:
        if hints is not None and hints.is_dir():
            raise ColorizeError(f"{hints}: is a folder; --hints takes one hints image (for a folder of photos and their "
                                "hints images: colorize photos --hints-dir)")
        if hints is not None and not hints.is_file():
            raise ColorizeError(f"{hints}: hints image not found")
        job = dataclasses.replace(job, hints=Hints(tuple(PointHint.parse(h) for h in hint or ()), hints))
    if reference is not None:
        job = dataclasses.replace(job, hints=dataclasses.replace(job.hints or Hints(), reference=open_reference(reference)))
    make = functools.partial(open_colorizer, EngineOptions(weights, device, engine.value, render_factor, 1, fp32, vividness, mirror))
    run_photo_jobs([job], make, 1, overwrite, max_megapixels, sheet, job.dst, run_settings(weights, render_factor, vividness, mirror))


@app.command()
@friendly
def photos(
    src_dir: Annotated[Path, typer.Argument(help="Folder of photos.", metavar="FOLDER")],
    out_dir: Annotated[Path, typer.Option("--output", "-o", help="Output folder (created).", metavar="PATH")],
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
    mirror: MirrorOpt = True,
    engine: EngineOpt = Engine.auto,
    hints_dir: Annotated[Optional[Path], typer.Option("--hints-dir", help="Folder of hints images, NAME.hints.png for photo NAME.* (default: beside each photo).", metavar="PATH")] = None,
    reference: Annotated[Optional[Path], typer.Option("--reference", help="A colour photo of the scene for every photo of the folder; a photo's own NAME.ref.jpg (any photo format) beside it is used for it instead. Its colours are used where it is found, the model's elsewhere.", metavar="PHOTO")] = None,
) -> None:
    """Colorize a folder of photos; finished outputs are skipped, bad files reported, the rest carried on."""
    from colorize.engine import EngineOptions, open_colorizer
    from colorize.photos import run_settings
    from colorize.plan import attach_hints, attach_references, plan_folder

    if hints_dir is not None and not hints_dir.is_dir():
        raise ColorizeError(f"{hints_dir}: no such folder (--hints-dir)")
    jobs = attach_hints(plan_folder(src_dir, out_dir, recursive, suffix, ext.value), src_dir, hints_dir)
    if reference is not None:  # the folder's reference, when it lies in the folder, is no photo to colorize
        jobs = [j for j in jobs if os.path.realpath(j.src) != os.path.realpath(reference)]
    jobs = attach_references(jobs, reference)
    if not jobs:
        raise ColorizeError(f"{src_dir}: no files to colorize")
    make = functools.partial(open_colorizer, EngineOptions(weights, device, engine.value, render_factor, batch_size, fp32,
                                                           vividness, mirror))
    run_photo_jobs(jobs, make, batch_size, overwrite, max_megapixels, sheet, out_dir, run_settings(weights, render_factor, vividness, mirror))
