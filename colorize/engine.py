"""The one door to the engine: `open_colorizer(EngineOptions(...))` gives a `Colorizer` for the commands, the page and
the scripts alike, on onnxruntime where it can run the model (CPU; no PyTorch needed) and PyTorch otherwise.

    from colorize.engine import EngineOptions, open_colorizer
    colorizer = open_colorizer(EngineOptions(device="cpu", render_factor=9))
    rgb = colorizer.colorize([gray])[0]
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from colorize.errors import ColorizeError, WeightsError
from colorize.pipeline import Colorizer

log = logging.getLogger(__name__)

ENGINES = ("auto", "onnx", "torch")


@dataclass(frozen=True)
class EngineOptions:
    """Everything that chooses and tunes the engine; what is left unset is the model's own (render factor) or the
    default (the shipped model, auto device and engine)."""

    weights: Path | None = None  # a checkpoint; None: the shipped default model
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    engine: str = "auto"  # auto: onnxruntime on CPU where it can, else PyTorch; onnx or torch to choose
    render_factor: int | None = None  # None: the model's own
    batch_size: int = 1
    fp32: bool = False  # full precision on CUDA (default there: fp16)
    vividness: float = 1.0
    mirror: bool = True

    def __post_init__(self) -> None:
        """Mistakes any install can name, before one without PyTorch would blame its absence."""
        if self.engine not in ENGINES:
            raise ColorizeError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ColorizeError(f"device {self.device!r} is not supported (colorize runs on CPU and CUDA); use auto, cpu, "
                                "cuda or cuda:N")
        if self.weights is not None and not Path(self.weights).is_file():
            raise WeightsError(f"{self.weights}: {'is a folder, not' if Path(self.weights).is_dir() else 'no such'} "
                               "weights file (e.g. RUN/final.pt from colorize train)")


def open_colorizer(options: EngineOptions) -> Colorizer:
    """A `Colorizer` for `options`: the ONNX engine (`colorize.onnx_engine`) unless PyTorch must run the model (a GPU,
    `engine="torch"`, a model the ONNX engine cannot take), then PyTorch (`colorize.inference`, the `[torch]` extra)."""
    from colorize.onnx_engine import onnx_colorizer

    colorizer = onnx_colorizer(options)
    if colorizer is None:
        from colorize.inference import load_colorizer

        colorizer = load_colorizer(options.weights, device=options.device, render_factor=options.render_factor,
                                   batch_size=options.batch_size, fp32=options.fp32, vividness=options.vividness,
                                   mirror=options.mirror)
    log.info("model on %s, render size %d px", colorizer.device, colorizer.render_size_px)
    return colorizer
