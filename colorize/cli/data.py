"""`colorize data prepare`: a corpus of any size, resized once and packed into shards for training."""

from pathlib import Path
from typing import Annotated

import typer

from colorize.cli.common import app, friendly, progress_bar, say

data_app = typer.Typer(help="Prepare training data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("prepare")
@friendly
def prepare(
    src: Annotated[Path, typer.Argument(help="Folder of colour photos (any depth; manifest.csv and cutouts/ carried over).", metavar="SRC")],
    out: Annotated[Path, typer.Argument(help="New folder for the shards and their index.", metavar="OUT")],
    size: Annotated[int, typer.Option("--size", min=32, help="Short side of the stored photos, px: at least twice the training size.", metavar="PX")] = 512,
    per_shard: Annotated[int, typer.Option("--per-shard", min=1, help="Photos per shard.", metavar="N")] = 1000,
    quality: Annotated[int, typer.Option("--quality", min=50, max=100, help="JPEG quality of the stored photos.", metavar="Q")] = 95,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Shards prepared at once, one process each.", metavar="N")] = 1,
) -> None:
    """Resize a photo corpus once and pack it into tar shards with one index: `colorize train --data OUT` then
    reads shards instead of walking millions of files. Resumable: a rerun rebuilds only shards whose photos or
    settings changed."""
    from colorize.shards import prepare as prepare_corpus

    with progress_bar(None, "photo") as bar:
        def tick(n: int, total: int) -> None:
            if bar.total != total:
                bar.set_total(total)
            bar.update(n)

        report = prepare_corpus(src, out, size, per_shard, quality, workers, tick)
    bad = f"; {len(report.unreadable)} unreadable, skipped (named above)" if report.unreadable else ""
    say(f"{out}: {report.photos} photos in {report.shards} shards ({report.shards_reused} already done){bad}")
