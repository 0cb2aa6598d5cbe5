"""`colorize eval`: score a model on colour photos turned gray."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from colorize.cli.common import (
    DataOpt, DeviceOpt, Engine, EngineOpt, RenderFactorOpt, VividnessOpt, WeightsOpt, app, colorizer_factory,
    friendly, write_sheet,
)
from colorize.errors import ColorizeError


@app.command("eval")
@friendly
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
    colorizer = colorizer_factory(weights, device, render_factor, 1, False, vividness, engine.value)()
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
        write_sheet(sheet, sheet_rows, ("gray", "colorized", "real"))
