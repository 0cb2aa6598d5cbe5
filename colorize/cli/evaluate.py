"""`colorize eval`: score a model on colour photos turned gray."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from colorize.cli.common import (
    DataOpt, DeviceOpt, Engine, EngineOpt, RenderFactorOpt, MirrorOpt, VividnessOpt, WeightsOpt, app,
    friendly, log, progress_bar, say, write_sheet,
)
from colorize.errors import ColorizeError

# How `--reference-pairs` names its two cases.
REFERENCE_CASES = {"crop": "its own shifted mirrored crop", "group": "the next photo of its group"}
# Hasler and Süsstrunk's colourfulness below which a set of photos is taken for grayscale (colour photos: ~30-60).
GRAY_COLORFULNESS = 2.0


@app.command("eval")
@friendly
def eval_(
    data: DataOpt,
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    device: DeviceOpt = "auto",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Where to save the metrics JSON. Default: eval.json in the current folder.", metavar="PATH")] = None,
    hints: Annotated[Optional[list[int]], typer.Option("--hints", min=1, help="Also score with N colour hints per photo at random places, in its true colour there (repeatable: --hints 1 --hints 5).", metavar="N")] = None,
    object_hints: Annotated[Optional[list[int]], typer.Option("--object-hints", min=1, help="Also score with one hint in each of the photo's N largest regions of one colour, in the region's true colour: how a person hints (repeatable).", metavar="N")] = None,
    vividness: VividnessOpt = 1.0,
    mirror: MirrorOpt = True,
    engine: EngineOpt = Engine.auto,
    held_out: Annotated[bool, typer.Option("--held-out", help="Score only the photos training holds out of --data (its manifest's split, as scripts/get_photos.py writes it), per group too: the model card's protocol.")] = False,
    by_source: Annotated[bool, typer.Option("--by-source", help="With --held-out: hold out whole sources (activity sets, albums, wallpaper packs; the recipe's data.split = \"by-source\"), the split that says how a model does on photos of a kind it never saw.")] = False,
    val_fraction: Annotated[Optional[float], typer.Option("--val-fraction", min=0.0, max=0.9, metavar="X", help="With --held-out: the recipe's data.val_fraction (default 0.1).")] = None,
    reference_pairs: Annotated[bool, typer.Option("--reference-pairs", help="Also score colour from a reference photo: each photo with its own shifted, mirrored crop as the reference (the easy case) and, with --held-out, with the next photo of its group (another photo of the same source).")] = False,
    sheet: Annotated[Optional[Path], typer.Option("--sheet", help="Also write a contact sheet PNG: each photo in gray, colorized (no hints) and in its real colour.", metavar="PATH")] = None,
) -> None:
    """Score a model on colour photos: their grayscale is colorized and compared with the real colour."""
    import json

    from colorize.atomic import atomic_write, check_output_file
    from colorize.color.ycbcr import SECTOR_NAMES
    from colorize.engine import EngineOptions, open_colorizer
    from colorize.config import DataConfig
    from colorize.corpus import held_out_photos, is_prepared, list_photos
    from colorize.evaluation import evaluate_groups, evaluate_photos, evaluate_reference_pairs
    from colorize.sheets import thumbnail

    if is_prepared(data):
        raise ColorizeError(f"{data}: a corpus packed by `colorize data prepare`; eval reads photos at full size, so "
                            f"point --data at the folder it was prepared from")
    out = json_out or Path("eval.json")
    replacing = {p for p in (out, sheet) if p is not None and check_output_file(p)}
    fraction = DataConfig.val_fraction if val_fraction is None else val_fraction
    paths, group_of = held_out_photos(data, fraction, by_source) if held_out else (list_photos(data), {})
    if held_out and not paths:
        raise ColorizeError(f"{data}: training holds none of its photos out (its manifest.csv's split column, else a hash of each name)")
    colorizer = open_colorizer(EngineOptions(weights, device, engine.value, render_factor, vividness=vividness, mirror=mirror))
    with progress_bar(len(paths) * (1 + len(hints or []) + len(object_hints or []) + reference_pairs), "photo") as bar:
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
            if reference_pairs:
                results["reference_pairs"] = evaluate_reference_pairs(colorizer, paths, group_of, progress=bar.update)
    if not results:
        raise ColorizeError(f"{data}: no readable photos")
    if results["model"]["colorfulness_real"] < GRAY_COLORFULNESS:
        log.warning("%s: these photos have (almost) no colour, so the scores say little: eval compares a model's colour "
                    "with the photos' own", data)
    keys = ["psnr", "ab_mae", "ab_mae_edges", "colorfulness", "colorfulness_real", "colorfulness_gap", "score"]
    rows = {"model": results["model"], **{f"{n} hints": m for n, m in results["hints"].items()},
            **{f"{n} objects": m for n, m in results["object_hints"].items()}, "gray": results["gray"]}
    typer.echo(f"{'':10}" + "".join(f"{k:>18}" for k in keys))
    for name, m in rows.items():
        typer.echo(f"{name:10}" + "".join(f"{m[k]:>18.3f}" for k in keys))
    typer.echo(f"{int(results['n_photos']['count'])} photos. psnr: closeness to the real colour photo in dB, higher is better; "
               "ab_mae: colour error (mean absolute difference of CIELAB a* and b*, luminance left out), lower is better, and a "
               "model above the gray row's does worse than no colour; ab_mae_edges: the same near strong edges, where "
               "colour bleeds (halos); colorfulness: how vivid (Hasler and Suesstrunk), "
               "the model's and the real photos'; colorfulness_gap: their difference; score: ab_mae + colorfulness_gap, "
               "one number to compare models by, lower is better")
    for name, m in rows.items():
        if "worse_share" in m:
            typer.echo(f"{name}: {100 * m['worse_share']:.1f} % of pixels made worse by more than 10 (|a*| + |b*|), "
                       f"{100 * m['better_share']:.1f} % better")
    typer.echo("colour coverage: % of pixels in each hue sector, model / real photos; recall: of the pixels truly in it, "
               "the % the model put there")
    for sector in SECTOR_NAMES:
        m = results["model"]
        typer.echo(f"  {sector:8} {100 * m[f'{sector}_share']:5.1f} / {100 * m[f'{sector}_share_real']:5.1f}   "
                   f"recall {100 * m[f'{sector}_recall']:5.1f}")
    for case, r in results.get("reference_pairs", {}).items():
        plain, ref, gray = r["model"], r["reference"], r["gray"]
        typer.echo(f"reference, {REFERENCE_CASES[case]}: {int(r['n_photos']['count'])} photos, found in "
                   f"{100 * r['n_photos']['found_share']:.0f} %; ab_mae {plain['ab_mae']:.2f} -> {ref['ab_mae']:.2f} "
                   f"({100 * (1 - ref['ab_mae'] / plain['ab_mae']):.1f} % less; gray {gray['ab_mae']:.2f}), colorfulness "
                   f"{plain['colorfulness']:.1f} -> {ref['colorfulness']:.1f} (real {ref['colorfulness_real']:.1f}), green "
                   f"{100 * plain['green_share']:.1f} -> {100 * ref['green_share']:.1f} % (real {100 * ref['green_share_real']:.1f} %)")
    for group, r in results.get("groups", {}).items():
        m = r["model"]
        typer.echo(f"{group}: {int(r['n_photos']['count'])} photos, ab_mae {m['ab_mae']:.2f} (gray {r['gray']['ab_mae']:.2f}), "
                   f"colorfulness_gap {m['colorfulness_gap']:.1f}, green {100 * m['green_share']:.1f} / "
                   f"{100 * m['green_share_real']:.1f} % (recall {100 * m['green_recall']:.1f} %)")
    atomic_write(out, lambda tmp: tmp.write_text(json.dumps(results, indent=2) + "\n"))
    say(f"metrics saved to {out}" + (" (replaced the file that was there)" if out in replacing else ""))
    if sheet is not None:
        write_sheet(sheet, sheet_rows, ("gray", "colorized", "real"))
