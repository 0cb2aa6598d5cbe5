"""`colorize export`: the generator as ONNX or TorchScript."""

import enum
from pathlib import Path
from typing import Annotated

import typer

from colorize.cli.common import OverwriteOpt, RenderFactorOpt, WeightsOpt, app, friendly
from colorize.errors import ColorizeError


class ExportFormat(str, enum.Enum):
    """Deployment format for `colorize export`."""

    onnx = "onnx"
    torchscript = "torchscript"


@app.command("export")
@friendly
def export_(
    out: Annotated[Path, typer.Argument(help="File to write (e.g. colorize.onnx).", metavar="OUT")],
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="onnx or torchscript.", case_sensitive=False)] = ExportFormat.onnx,
    weights: WeightsOpt = None,
    render_factor: RenderFactorOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Export the generator (spectral norm folded); checks its output against PyTorch. ONNX takes any side that is a
    multiple of 32 px; TorchScript the render size it was traced at."""
    from colorize.export import export_model
    from colorize.pipeline import RENDER_UNIT_PX, InferenceConfig, stride_multiple
    from colorize.weights import load_generator, resolve_weights

    if out.exists() and not overwrite:
        raise ColorizeError(f"{out}: already exists (pass --overwrite to replace it)")
    model, meta = load_generator(resolve_weights(weights))
    size = (render_factor or InferenceConfig.from_checkpoint(meta).render_factor) * RENDER_UNIT_PX
    size = stride_multiple(size)  # what the pipeline feeds the network at this render size
    report = export_model(model, out, fmt.value, size)
    check = "not checked (onnxruntime missing)" if report.max_abs_diff is None else f"max |output - PyTorch's| = {report.max_abs_diff:.2e}"
    sides = "S" if fmt.value == "onnx" else str(size)
    typer.echo(f"wrote {out} ({fmt.value}, input (B, 1, {sides}, {sides}) luminance in [0, 1] -> (B, 3, {sides}, {sides}) RGB"
               f"{', S any multiple of 32' if sides == 'S' else ''}; {report.folded} spectral-norm layers folded); {check}")
