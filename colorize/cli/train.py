"""`colorize train STAGE`: the staged NoGAN recipe, one subcommand per stage."""

from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from colorize.cli.common import DataOpt, DeviceOpt, app, friendly, log, say

train_app = typer.Typer(help="Train a colorizer with the staged NoGAN recipe.", no_args_is_help=True)
app.add_typer(train_app, name="train")

RunOpt = Annotated[
    Path,
    typer.Option("--run", "--run-dir", help="Run folder: checkpoints, logs, metrics, final model (--run-dir under torchrun).", metavar="PATH"),
]
RecipeOpt = Annotated[Optional[Path], typer.Option("--recipe", help="Recipe TOML (e.g. recipes/default.toml).", metavar="PATH")]
SetOpt = Annotated[
    Optional[list[str]], typer.Option("--set", help="Override a recipe key: section.key=value (repeatable).", metavar="TEXT")
]
ArchOpt = Annotated[Optional[str], typer.Option("--arch", help="Encoder: efficientnet_lite0/1/2, resnet18/34/50/101.", metavar="TEXT")]
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
        say(f"{stage}: done; results in {result}")


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
    return friendly(command)


for _stage in ("all", "pretrain-gen", "cache", "pretrain-critic", "gan", "export", "hints"):
    train_app.command(_stage)(_train_command(_stage))
